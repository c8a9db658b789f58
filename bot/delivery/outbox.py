"""Write Slack calls to the outbox, and read what became of them.

`enqueue` is called by event handlers inside the transaction that changes state, so a DM, an update or an
announcement exists exactly when its cause committed. `bot.delivery.sender` delivers the rows afterwards.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import event, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models.outbox import OutboxMessage

# Set after a transaction that enqueued something commits, so a sender in this process starts at once
# instead of waiting for its next poll.
work_arrived = threading.Event()

# The payload key that makes a row an intent: `{"render": "home", "user_id": "U1"}` is rendered by the sender
# when it is sent (the renderer registered for "home"), not by the transaction that queued it.
RENDER = "render"

# Slack errors that retrying cannot fix, in words an admin can act on.
ERROR_MEANINGS = {
    "account_inactive": "the app was uninstalled or its token was revoked",
    "invalid_auth": "the bot token is not valid for this workspace",
    "token_revoked": "the bot token was revoked",
    "app_uninstalled": "the app was uninstalled from the workspace",
    "tokens_revoked": "the bot token was revoked",
    "is_archived": "the channel is archived",
    "not_in_channel": "the bot is not a member of the channel; invite it with /invite",
    "channel_not_found": "the channel does not exist or the bot cannot see it",
    "user_not_found": "the user does not exist in this workspace",
    "cannot_dm_bot": "the recipient is a bot, which cannot receive DMs",
    "invalid_blocks": "the message's blocks were rejected by Slack",
    "msg_too_long": "the message text was too long",
    "missing_scope": "the app lacks a scope this call needs; reinstall it from the manifest",
    "message_not_found": "the message to update no longer exists",
    "cant_update_message": "the message to update was not posted by the bot",
}


def enqueue(
    session: Session,
    *,
    team_id: str,
    method: str,
    payload: dict[str, Any],
    depends_on: int | None = None,
    dedupe_key: str | None = None,
    message_id: int | None = None,
) -> OutboxMessage:
    """Add a Slack Web API call to the outbox in the caller's transaction (flushed, not committed).

    With `dedupe_key`, a key already used in this workspace returns the existing row instead of a new one.
    With `depends_on`, the call waits until that message is delivered, and until the calls enqueued earlier with
    the same `depends_on` are done (so updates of one message apply in order). With `message_id`, the call posts
    that registered message (the sender records Slack's answer there) or updates it (taking `channel` and `ts`
    from there); see bot/delivery/messages.py.
    """
    message = OutboxMessage(
        team_id=team_id, method=method, payload=payload, depends_on=depends_on, dedupe_key=dedupe_key,
        message_id=message_id,
    )
    if dedupe_key is None:  # nothing to lose a race on, so no savepoint
        session.add(message)
        session.flush()
        _wake_sender_after_commit(session)
        return message
    if (existing := _by_dedupe_key(session, team_id, dedupe_key)) is not None:
        return existing
    try:
        # A savepoint, so that losing a race on the dedupe key leaves the caller's transaction intact.
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        existing = _by_dedupe_key(session, team_id, dedupe_key)
        if existing is None:
            raise
        return existing
    _wake_sender_after_commit(session)
    return message


def enqueue_intent(session: Session, *, team_id: str, method: str, kind: str, depends_on: int | None = None,
                   message_id: int | None = None, **subject: str) -> OutboxMessage:
    """Queue a call that the sender renders when it sends it (see `RENDER`): `kind` names the renderer, `subject`
    what it renders (`user_id="U1"`). Copies of one intent still pending when it is sent are answered by one call.
    `depends_on` and `message_id` as for `enqueue`."""
    message = OutboxMessage(team_id=team_id, method=method, payload={RENDER: kind, **subject}, depends_on=depends_on,
                            message_id=message_id)
    session.add(message)  # written with the transaction's next flush, in one INSERT with the other intents
    _wake_sender_after_commit(session)
    return message


def failed_messages(
    session: Session, *, team_id: str | None = None, since: datetime | None = None, limit: int = 50
) -> list[OutboxMessage]:
    """Messages Slack refused for good (or that ran out of retries), newest first: for admins and the digest."""
    query = select(OutboxMessage).where(OutboxMessage.state == "failed")
    if team_id is not None:
        query = query.where(OutboxMessage.team_id == team_id)
    if since is not None:
        query = query.where(col(OutboxMessage.failed_at) >= since)
    return list(session.exec(query.order_by(col(OutboxMessage.id).desc()).limit(limit)))


def recent_messages(session: Session, *, team_id: str | None = None, limit: int = 50) -> list[OutboxMessage]:
    query = select(OutboxMessage)
    if team_id is not None:
        query = query.where(OutboxMessage.team_id == team_id)
    return list(session.exec(query.order_by(col(OutboxMessage.id).desc()).limit(limit)))


def state_counts(session: Session, *, team_id: str | None = None) -> dict[str, int]:
    """How many messages are pending, sent and failed."""
    query = select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    if team_id is not None:
        query = query.where(OutboxMessage.team_id == team_id)
    counts = {"pending": 0, "sent": 0, "failed": 0}
    counts.update({state: count for state, count in session.exec(query)})
    return counts


def describe_error(error: str | None) -> str:
    """`channel_not_found` -> `channel_not_found (the channel does not exist or the bot cannot see it)`."""
    if not error:
        return ""
    meaning = ERROR_MEANINGS.get(error)
    return f"{error} ({meaning})" if meaning else error


def _by_dedupe_key(session: Session, team_id: str, dedupe_key: str) -> OutboxMessage | None:
    query = select(OutboxMessage).where(OutboxMessage.team_id == team_id, OutboxMessage.dedupe_key == dedupe_key)
    return session.exec(query).first()


def _wake_sender_after_commit(session: Session) -> None:
    if not event.contains(session, "after_commit", _wake_sender):
        event.listen(session, "after_commit", _wake_sender)


def _wake_sender(session: Session) -> None:
    work_arrived.set()
