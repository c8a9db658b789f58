"""Whether the app is installed again in a workspace waiting for a reinstall (bot/delivery/installation.py): a
reinstall means that `auth.test` succeeds again with the bot token. `create_app` asks at every start-up; the
reinstall_check job (bot/jobs/installation.py) asks every minute while a workspace is suspended (and never
otherwise), so that a workspace whose app works again (reinstalled keeping its token, or suspended by a refusal
that has passed) resumes without a restart."""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.delivery.installation import drop_stale, suspended, unsuspend
from bot.notifications import SIGN_OFF_REQUEST, post_sign_off_request
from bot.runtime import Runtime
from bot.services.audit.service import record_audit
from bot.services.gates.service import SYSTEM_ACTOR
from storage.models import SignOff
from storage.types import utcnow

log = logging.getLogger(__name__)


def recheck_installation(runtime: Runtime, client: WebClient) -> str | None:
    """While a workspace waits for a reinstall, ask `auth.test` with the bot token once; if it succeeds for that
    workspace, resume it. Returns the workspace resumed, if any. No call at all while none is suspended."""
    with runtime.read() as session:
        waiting = set(suspended(session))
    if not waiting:
        return None
    try:
        team_id = str(client.auth_test()["team_id"])
    except SlackApiError as exc:
        log.debug("auth.test still refused (%s): still waiting for the reinstall", exc.response.get("error"))
        return None
    if team_id not in waiting:
        return None
    resume_served_workspace(runtime, team_id)
    return team_id


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
