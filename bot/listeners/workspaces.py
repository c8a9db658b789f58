"""The workspace the app serves: created, with its default gates, when the app starts, so that its very first
request (`/initiative gates` included) finds them, and no request pays to learn that it exists. And whether the app
is still installed there: `app_uninstalled` and `tokens_revoked` suspend it (bot/delivery/installation.py); an
`auth.test` that succeeds again resumes it (bot/adapters/installation.py)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.delivery.installation import suspend
from bot.runtime import Runtime
from bot.services.audit.service import record_audit
from bot.services.gates.service import SYSTEM_ACTOR, ensure_workspace
from storage.models import Workspace
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


def _suspend(runtime: Runtime, team_id: str | None, *, reason: str) -> None:
    if not team_id:
        return
    with runtime.transaction() as session:
        if suspend(session, team_id=team_id, reason=reason, now=utcnow()):
            record_audit(session, team_id=team_id, actor=SYSTEM_ACTOR, action="workspace.suspended",
                         subject_type="workspace", subject_key=team_id, after={"reason": reason})
