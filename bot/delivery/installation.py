"""Whether the app is installed in a workspace: what the sender, the jobs and `outbox` ask before touching Slack.

A workspace is suspended when Slack says the app was uninstalled or its token revoked: the `app_uninstalled` or
`tokens_revoked` event, or a Web API call answering one of `REVOKED_ERRORS`. From then on no Web API call is made
for it: its pending outbox messages stay pending (kept for the reinstall, not failed one by one), and its
scheduled work waits. It is resumed when `auth.test` succeeds again with the bot token: at start-up (so after the
token setting changed), and every few minutes while suspended; see `bot.adapters.installation`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, update
from sqlmodel import Session, col, select

from bot.delivery.messages import record_post
from bot.delivery.outbox import ERROR_MEANINGS
from storage.models import Workspace
from storage.models.messages import SlackMessage
from storage.models.outbox import OutboxMessage

log = logging.getLogger(__name__)

# Web API errors that mean the token no longer works for the workspace: every call would fail the same way.
REVOKED_ERRORS = frozenset({"invalid_auth", "account_inactive", "token_revoked"})
WAITING_FOR_REINSTALL = "waiting for reinstall"
STALE = "stale: queued longer ago than STALE_MESSAGE_HOURS, dropped"


def suspend(session: Session, *, team_id: str, reason: str, now: datetime) -> bool:
    """Mark the workspace as waiting for a reinstall; True only for the call that suspended it (so whatever says
    so, a log line or an audit event, says it once, however many messages or replicas ran into it)."""
    suspended = session.exec(  # type: ignore[call-overload]
        update(Workspace)
        .where(col(Workspace.team_id) == team_id, col(Workspace.suspended_at).is_(None))
        .values(suspended_at=now, suspended_reason=reason[:64])
    ).rowcount == 1
    if suspended:
        log.warning("workspace %s: %s (%s); its messages and scheduled work wait for the app to be reinstalled",
                    team_id, reason, _meaning(reason))
    return suspended


def unsuspend(session: Session, *, team_id: str, now: datetime) -> datetime | None:
    """Clear the suspension (`auth.test` succeeded); returns when it had begun, None if it was not suspended."""
    workspace = session.get(Workspace, team_id)
    if workspace is None or workspace.suspended_at is None:
        return None
    since = workspace.suspended_at
    workspace.suspended_at, workspace.suspended_reason = None, None
    session.add(workspace)
    session.exec(  # type: ignore[call-overload]
        update(OutboxMessage)
        .where(OutboxMessage.team_id == team_id, OutboxMessage.state == "pending",
               col(OutboxMessage.last_error).startswith(WAITING_FOR_REINSTALL))
        .values(next_attempt_at=now, last_error=None)
    )
    session.flush()
    log.warning("workspace %s: the app is installed again (auth.test succeeds); delivery resumes", team_id)
    return since


def suspended(session: Session) -> dict[str, Workspace]:
    """The workspaces waiting for a reinstall, by team id."""
    rows = session.exec(select(Workspace).where(col(Workspace.suspended_at).is_not(None)))
    return {row.team_id: row for row in rows}


def describe_suspension(workspace: Workspace) -> str:
    reason = workspace.suspended_reason or "uninstalled"
    return f"{WAITING_FOR_REINSTALL} since {workspace.suspended_at:%Y-%m-%d %H:%M} UTC: {reason} ({_meaning(reason)})"


def _meaning(reason: str) -> str:
    return ERROR_MEANINGS.get(reason, "the app was uninstalled or its token was revoked")


@dataclass(frozen=True)
class StaleDrop:
    dropped: int  # messages that will never be sent
    to_resend: tuple[tuple[str, str], ...]  # (kind, subject) of registered posts in `resend_kinds`, dropped too


def drop_stale(session: Session, *, team_id: str, older_than: datetime, now: datetime,
               resend_kinds: frozenset[str] = frozenset()) -> StaleDrop:
    """Fail the workspace's pending messages queued before `older_than`: arriving days late, they would mislead
    more than help. The posts of registered messages whose kind is in `resend_kinds` are dropped as well and
    returned, for the caller to post again as they should read now (a sign-off request, say)."""
    stale = session.exec(
        select(OutboxMessage.id, OutboxMessage.method, OutboxMessage.message_id)
        .where(OutboxMessage.team_id == team_id, OutboxMessage.state == "pending",
               col(OutboxMessage.created_at) < older_than)
        .order_by(col(OutboxMessage.id))
    ).all()
    dropped, to_resend = 0, []
    for message_id, method, registered_id in stale:
        # Compare-and-set: of processes starting together, one drops (and re-sends) each message.
        if session.exec(update(OutboxMessage).where(  # type: ignore[call-overload]
                col(OutboxMessage.id) == message_id, OutboxMessage.state == "pending")
                .values(state="failed", failed_at=now, last_error=STALE, claim_token=None,
                        claimed_until=None)).rowcount != 1:
            continue
        dropped += 1
        if method == "chat.postMessage" and registered_id is not None:
            registered = session.get(SlackMessage, registered_id)
            if registered is not None and registered.kind in resend_kinds and registered.replaced_at is None:
                to_resend.append((registered.kind, registered.subject))
            record_post(session, message_id=registered_id, now=now, posted=None, error=STALE)
    session.flush()
    return StaleDrop(dropped=dropped - len(to_resend), to_resend=tuple(to_resend))


def installed(team_id: Any) -> ColumnElement[bool]:
    """A WHERE clause for rows whose workspace (`team_id`, a column) is not waiting for a reinstall: what the
    scheduled jobs select, so that no work is planned, logged as done, or sent for a suspended workspace."""
    return ~exists().where(col(Workspace.team_id) == team_id, col(Workspace.suspended_at).is_not(None))

