"""Messages the bot has posted and may update later, and the outbox calls that post and update them.

A message is registered (kind and subject) in the same transaction as the `chat.postMessage` that creates it; the
sender records Slack's `channel` and `ts` on it, and every later `chat.update` takes them from there. Callers find
a message by what it is about (`live_message(kind=..., subject=...)`), never through the outbox.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.delivery.outbox import enqueue, enqueue_intent
from storage.models.messages import SlackMessage
from storage.models.outbox import OutboxMessage
from storage.types import utcnow

SHOWN_FIELDS = ("text", "blocks", "attachments")
# The payload key of a reply in a registered message's thread (`reply_in_thread`): that message's id. The sender
# replaces it with the message's channel and `thread_ts`.
THREAD_OF = "thread_of"


def post_message(session: Session, *, team_id: str, kind: str, subject: str | int,
                 payload: dict[str, Any] | None = None, intent: dict[str, str] | None = None) -> SlackMessage:
    """chat.postMessage `payload` as the live message of (kind, subject), replacing the one it had, if any (which
    stays registered, so that updates already queued for it still find it). With `intent` instead of `payload`, the
    sender renders the post when it sends it (`enqueue_intent`'s kind and subject)."""
    previous = live_message(session, team_id=team_id, kind=kind, subject=subject)
    if previous is not None:
        previous.replaced_at = utcnow()
        session.add(previous)
        session.flush()  # before the new row: one live message per subject
    message = SlackMessage(team_id=team_id, kind=kind, subject=str(subject),
                           shown_hash=_fingerprint(payload) if payload is not None else None)
    session.add(message)
    session.flush()
    if payload is not None:
        enqueue(session, team_id=team_id, method="chat.postMessage", payload=payload, message_id=message.id)
    else:
        enqueue_intent(session, team_id=team_id, method="chat.postMessage", message_id=message.id, **_given(intent))
    return message


def update_message(session: Session, message: SlackMessage, *, payload: dict[str, Any] | None = None,
                   intent: dict[str, str] | None = None, unless_shown: bool = False) -> OutboxMessage | None:
    """chat.update the message once its post has been delivered, after the updates queued before this one. With
    `unless_shown`, nothing is queued when the message as last posted or updated already shows `payload`. With
    `intent` instead of `payload`, the sender renders the update when it sends it (`enqueue_intent`'s kind and
    subject); what the message will show is then unknown here, so the next `unless_shown` update is not skipped."""
    fingerprint = _fingerprint(payload) if payload is not None else None
    if unless_shown and fingerprint is not None and message.shown_hash == fingerprint:
        return None
    post = _post_of(session, message)
    message.shown_hash = fingerprint
    session.add(message)
    if payload is not None:
        return enqueue(session, team_id=message.team_id, method="chat.update", payload=payload, depends_on=post,
                       message_id=message.id)
    return enqueue_intent(session, team_id=message.team_id, method="chat.update", depends_on=post,
                          message_id=message.id, **_given(intent))


def reply_in_thread(session: Session, parent: SlackMessage, *, payload: dict[str, Any]) -> OutboxMessage:
    """chat.postMessage `payload` in `parent`'s thread, once the parent's post has been delivered and after the
    replies queued before this one: the sender takes the channel and `thread_ts` from where Slack put the parent
    (`address_of`). If the parent's post fails for good, so does the reply, without a call."""
    post = _post_of(session, parent)
    return enqueue(session, team_id=parent.team_id, method="chat.postMessage", depends_on=post,
                   payload={**payload, THREAD_OF: parent.id})


def replies_pending(session: Session, parent: SlackMessage) -> bool:
    """Whether a reply queued with `reply_in_thread` still waits to be delivered."""
    if (post := _post_of(session, parent)) is None:
        return False
    return session.exec(select(OutboxMessage.id).where(
        OutboxMessage.depends_on == post, OutboxMessage.method == "chat.postMessage",
        OutboxMessage.state == "pending")).first() is not None


def _post_of(session: Session, message: SlackMessage) -> int | None:
    """The outbox id of the call that posts `message`."""
    return session.exec(select(OutboxMessage.id).where(
        OutboxMessage.message_id == message.id, OutboxMessage.method == "chat.postMessage")
        .order_by(col(OutboxMessage.id))).first()


def was_updated(session: Session, message: SlackMessage) -> bool:
    """Whether a chat.update of `message` has been queued (or sent) since it was posted."""
    return session.exec(select(OutboxMessage.id).where(
        OutboxMessage.message_id == message.id, OutboxMessage.method == "chat.update")).first() is not None


def live_message(session: Session, *, team_id: str, kind: str, subject: str | int) -> SlackMessage | None:
    return session.exec(select(SlackMessage).where(
        SlackMessage.team_id == team_id, SlackMessage.kind == kind, SlackMessage.subject == str(subject),
        col(SlackMessage.replaced_at).is_(None))).first()


def _given(intent: dict[str, str] | None) -> dict[str, str]:
    if intent is None:
        raise TypeError("a message is posted or updated with a payload or with an intent")
    return intent


def _fingerprint(payload: dict[str, Any]) -> str:
    """What a reader sees of a message (not where it is, nor how links unfurl)."""
    shown = {key: payload[key] for key in SHOWN_FIELDS if key in payload}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()


# ---- what the sender records and reads back --------------------------------------------------------------


def address_of(session: Session, queued: OutboxMessage) -> dict[str, str | None] | None:
    """Where a chat.update of a registered message goes (the channel and ts Slack gave its post), or a reply in
    its thread (the channel and that ts as `thread_ts`)."""
    if queued.method == "chat.update" and queued.message_id is not None:
        posted = session.get(SlackMessage, queued.message_id)
        return {"channel": posted.channel, "ts": posted.ts} if posted is not None else None
    if queued.method == "chat.postMessage" and THREAD_OF in queued.payload:
        parent = session.get(SlackMessage, queued.payload[THREAD_OF])
        return {"channel": parent.channel, "thread_ts": parent.ts} if parent is not None else None
    return None


def record_post(session: Session, *, message_id: int, now: datetime, posted: dict[str, Any] | None,
                error: str | None) -> None:
    """A registered message's post is done: where Slack put it (`posted`, its answer), or why it did not."""
    if posted is not None:
        values: dict[str, Any] = {"state": "posted", "channel": posted.get("channel"), "ts": posted.get("ts"),
                                  "posted_at": now, "error": None}
    else:
        values = {"state": "failed", "error": error}
    session.exec(update(SlackMessage).where(col(SlackMessage.id) == message_id)  # type: ignore[call-overload]
                 .values(**values))
