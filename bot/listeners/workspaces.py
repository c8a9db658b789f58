"""The workspace the app serves: created, with its default gates, when the app starts, so that its very first
request (`/initiative gates` included) finds them, and no request pays to learn that it exists. And whether the app
is still installed there: `app_uninstalled` and `tokens_revoked` suspend it (bot/delivery/installation.py); a
start-up whose `auth.test` succeeds resumes it."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_bolt import App

from bot.delivery.installation import drop_stale, suspend, unsuspend
from bot.notifications import SIGN_OFF_REQUEST, post_sign_off_request
from bot.runtime import Runtime
from bot.services.audit.service import record_audit
from bot.services.gates.workspaces import SYSTEM_ACTOR, ensure_workspace
from storage.models import SignOff, Workspace
from storage.types import utcnow

log = logging.getLogger(__name__)


def register(app: App, runtime: Runtime) -> None:
    @app.event("app_uninstalled")
    def on_app_uninstalled(body: dict[str, Any]) -> None:
        _suspend(runtime, body.get("team_id"), reason="app_uninstalled")

    @app.event("tokens_revoked")
    def on_tokens_revoked(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Only the bot token matters: a user token revoked (a person leaving) leaves the bot working.
        if (event.get("tokens") or {}).get("bot"):
            _suspend(runtime, body.get("team_id"), reason="tokens_revoked")


def ensure_served_workspace(runtime: Runtime, team_id: str) -> None:
    """Create the workspace if this database does not hold it yet. Only a read when it does, so that replicas and
    workers starting together do not queue for the write lock."""
    with runtime.read() as session:
        if session.get(Workspace, team_id) is not None:
            return
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=team_id)


def resume_served_workspace(runtime: Runtime, team_id: str) -> None:
    """`auth.test` just succeeded with the bot token: the app is installed in `team_id`. A suspended workspace
    resumes (audited), and messages queued longer ago than STALE_MESSAGE_HOURS are dropped with one audit event;
    the sign-off requests among them are posted again, as they read now."""
    now = utcnow()
    with runtime.transaction() as session:
        since = unsuspend(session, team_id=team_id, now=now)
        if since is not None:
            record_audit(session, team_id=team_id, actor=SYSTEM_ACTOR, action="workspace.reinstalled",
                         subject_type="workspace", subject_key=team_id, after={"suspended_since": since.isoformat()})
        hours = runtime.settings.stale_message_hours
        stale = drop_stale(session, team_id=team_id, older_than=now - timedelta(hours=hours), now=now,
                           resend_kinds=frozenset({SIGN_OFF_REQUEST}))
        resent = 0
        for _kind, subject in stale.to_resend:
            sign_off = session.get(SignOff, int(subject))
            if sign_off is not None and sign_off.state == "pending":
                post_sign_off_request(session, sign_off, default_zone=runtime.settings.default_zone)
                resent += 1
        if stale.dropped or stale.to_resend:
            record_audit(session, team_id=team_id, actor=SYSTEM_ACTOR, action="outbox.stale_dropped",
                         subject_type="outbox", subject_key=team_id,
                         after={"dropped": stale.dropped + len(stale.to_resend) - resent,
                                "sign_off_requests_resent": resent, "older_than_hours": hours})
            log.warning("workspace %s: dropped %d queued message(s) older than %d hour(s); re-sent %d sign-off "
                        "request(s)", team_id, stale.dropped + len(stale.to_resend) - resent, hours, resent)


def _suspend(runtime: Runtime, team_id: str | None, *, reason: str) -> None:
    if not team_id:
        return
    with runtime.transaction() as session:
        if suspend(session, team_id=team_id, reason=reason, now=utcnow()):
            record_audit(session, team_id=team_id, actor=SYSTEM_ACTOR, action="workspace.suspended",
                         subject_type="workspace", subject_key=team_id, after={"reason": reason})
