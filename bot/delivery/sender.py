"""Deliver the outbox to Slack's Web API.

One message at a time: claim it (short transaction), call Slack, record the outcome (short transaction,
committed at once). Claims are exclusive (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's `BEGIN IMMEDIATE`
serialises writers of the one file), so any number of sender threads, workers and replicas can run.

- 429: the message waits `Retry-After`, and so does every message for that method and workspace, in every
  process (the block is stored in `slack_rate_limit`). It does not count as a failed attempt.
- 5xx, timeouts, connection errors and Slack's transient errors: exponential backoff with jitter, up to
  `RetryPolicy.max_attempts`, then `failed`.
- `invalid_auth`, `account_inactive`, `token_revoked`: the token no longer works for the workspace. The workspace
  is suspended (bot/delivery/installation.py, logged once); the row stays pending, and no row of that workspace
  is claimed again until a reinstall resumes it. Unless the bot token changed while the call was on its way
  (SLACK_BOT_TOKEN_FILE rewritten after a reinstall): the old token's refusal says nothing of the new one, so the
  message is tried again, with the new token, as after a transient error.
- Any other Slack error (`channel_not_found`, `invalid_blocks`...) is permanent: the row becomes `failed` with
  the error, at once, and is never retried.

Intents (a payload naming a `render` kind, see `bot.delivery.outbox.enqueue_intent`) are rendered when they are sent,
from the database as it is then, by the renderer `bot.wiring` registers for that kind; the transaction that
queued one renders nothing. Pending copies of one intent (say three decisions each asked to refresh one person's
App Home) are claimed together and answered by one call, showing the state after all of them; of the updates of
one message, only copies not separated by another update are. A sender with no renderer for a kind leaves its
intents to one that has it.

Crash window: `chat.postMessage` has no idempotency key. If the process dies after Slack answered 200 and
before the `sent` commit, the claim lapses (`RetryPolicy.claim_seconds`) and the message is sent again. That
commit follows the call directly, one message per transaction, so at most the one in-flight message can be
duplicated; a crash anywhere else loses and duplicates nothing.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import Any, Protocol
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, and_, delete, exists, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.delivery.installation import REVOKED_ERRORS, WAITING_FOR_REINSTALL, installed, suspend
from bot.delivery.messages import THREAD_OF, address_of, record_post
from bot.delivery.outbox import RENDER, work_arrived
from bot.delivery.retry import RetryPolicy
from bot.delivery.slack_client import bot_client
from bot.metrics import SLACK_API_RETRIES
from storage.models.outbox import OutboxMessage, SlackRateLimit
from storage.types import utcnow

logger = logging.getLogger(__name__)

# Slack errors worth retrying; every other error is permanent.
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
# Response fields kept in `OutboxMessage.result` (what a later update or an admin needs, not whole messages).
RESULT_FIELDS = ("channel", "ts", "message_ts", "scheduled_message_id")


# Turns an intent's payload into the Web API call's payload, reading the database (the session) as it is now; None
# withdraws it (a nudge that lists nothing any more): the row is deleted, nothing is called.
Renderer = Callable[[Session, str, dict[str, Any]], dict[str, Any] | None]


class Deliveries(Protocol):
    """What a sender needs from the process running it (`bot.runtime.Runtime` has it)."""

    settings: Settings
    engine: Engine
    renderers: Mapping[str, Renderer]  # by intent kind


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    rate_limited: int = 0
    held: int = 0  # the workspace's token stopped working: kept for the reinstall
    withdrawn: int = 0  # nothing left to send when rendered

    @property
    def attempted(self) -> int:
        return self.sent + self.failed + self.retrying + self.rate_limited + self.held + self.withdrawn

    def count(self, outcome: str) -> None:
        if outcome == "sent":
            self.sent += 1
        elif outcome == "permanent":
            self.failed += 1
        elif outcome == "transient":
            self.retrying += 1
        elif outcome == "revoked":
            self.held += 1
        elif outcome == "withdrawn":
            self.withdrawn += 1
        else:
            self.rate_limited += 1


@dataclass(frozen=True)
class _Claimed:
    id: int
    team_id: str
    method: str
    payload: dict[str, Any]
    attempts: int
    parent_state: str | None
    message_id: int | None  # the registered message this call posts or updates
    address: dict[str, str | None] | None  # an update's `channel` and `ts`, or a reply's `thread_ts`
    # Other pending copies of the same intent, answered by this one's call.
    coalesced: tuple[int, ...] = ()

    @property
    def ids(self) -> tuple[int, ...]:
        return (self.id, *self.coalesced)


@dataclass(frozen=True)
class _Outcome:
    kind: str  # sent | permanent | transient | rate_limited | revoked | withdrawn
    result: dict[str, Any] | None = None
    error: str | None = None
    retry_after: float = 0.0


def make_client(settings: Settings, *, policy: RetryPolicy | None = None) -> WebClient:
    """A WebClient for the sender: SLACK_API_URL, a bounded timeout, and no retries of its own."""
    return bot_client(settings, timeout=int((policy or RetryPolicy()).request_timeout), retry_handlers=[])


def deliver_pending(
    runtime: Deliveries,
    client: WebClient,
    *,
    limit: int = 100,
    policy: RetryPolicy | None = None,
    now: Callable[[], datetime] = utcnow,
    should_stop: Callable[[], bool] = lambda: False,
) -> DeliveryReport:
    """Deliver up to `limit` due messages, one at a time; returns what happened. Safe to run anywhere."""
    policy = policy or RetryPolicy()
    report = DeliveryReport()
    token = str(uuid.uuid4())
    while report.attempted < limit and not should_stop():
        claimed = _claim_next(runtime.engine, token, now(), policy, rendered=frozenset(runtime.renderers))
        if claimed is None:
            break
        payload = _rendered(runtime, claimed)
        outcome = _call(client, claimed, payload) if isinstance(payload, dict) else payload or _Outcome("withdrawn")
        _record(runtime.engine, claimed, token, outcome, now(), policy)
        report.count(outcome.kind)
    return report


@dataclass
class OutboxSender:
    """Delivers the outbox in a background thread until `stop()`; wakes when this process enqueues."""

    runtime: Deliveries
    client: WebClient | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    poll_seconds: float = 1.0
    clock: Callable[[], datetime] = utcnow  # the playground's clock, which its "+1 day" moves on
    _stopping: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def start(self) -> None:
        self.client = self.client or make_client(self.runtime.settings, policy=self.policy)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Finish the message in flight, then return (by default waits up to one request timeout)."""
        self._stopping.set()
        work_arrived.set()
        if self._thread is not None:
            self._thread.join(self.policy.request_timeout + 5 if timeout is None else timeout)
            self._thread = None

    def _run(self) -> None:
        assert self.client is not None
        while not self._stopping.is_set():
            work_arrived.clear()
            try:
                report = deliver_pending(
                    self.runtime, self.client, policy=self.policy, now=self.clock, should_stop=self._stopping.is_set
                )
            except Exception:  # the database may be briefly down; keep the thread alive
                logger.exception("outbox delivery failed; retrying in %.0fs", self.poll_seconds)
                report = DeliveryReport()
            if report.attempted == 0:
                work_arrived.wait(self.poll_seconds)


# ---- claim, call, record -------------------------------------------------------------------------------


def _claim_next(engine: Engine, token: str, now: datetime, policy: RetryPolicy, *,
                rendered: frozenset[str]) -> _Claimed | None:
    parent, earlier_sibling, copy = aliased(OutboxMessage), aliased(OutboxMessage), aliased(OutboxMessage)
    # Updates of one message go out in the order they were made: a refresh retried after a later decision's
    # update would otherwise bring the decided DM's buttons back.
    earlier_sibling_pending = exists().where(
        earlier_sibling.depends_on == OutboxMessage.depends_on,
        col(earlier_sibling.id) < OutboxMessage.id,
        earlier_sibling.state == "pending",
    )
    rate_limited = exists().where(
        SlackRateLimit.team_id == OutboxMessage.team_id,
        SlackRateLimit.method == OutboxMessage.method,
        col(SlackRateLimit.blocked_until) > now,
    )
    kind = col(OutboxMessage.payload)[RENDER].as_string()
    # One copy of an intent at a time: a Home rendered later must not be overtaken by one rendered earlier.
    copy_in_flight = exists().where(
        copy.team_id == OutboxMessage.team_id,
        copy.method == OutboxMessage.method,
        col(copy.payload) == col(OutboxMessage.payload),
        copy.state == "pending",
        col(copy.claimed_until) > now,
    )
    query = (
        select(OutboxMessage, parent.state)
        .outerjoin(parent, col(OutboxMessage.depends_on) == parent.id)
        .where(
            OutboxMessage.state == "pending",
            col(OutboxMessage.next_attempt_at) <= now,
            or_(col(OutboxMessage.claimed_until).is_(None), col(OutboxMessage.claimed_until) <= now),
            or_(col(OutboxMessage.depends_on).is_(None), and_(parent.state != "pending", ~earlier_sibling_pending)),
            ~rate_limited,
            installed(OutboxMessage.team_id),
            or_(kind.is_(None), and_(kind.in_(rendered), ~copy_in_flight)),
        )
        .order_by(col(OutboxMessage.id))
        .limit(1)
        # Other senders skip this row instead of queueing behind our lock (SQLite ignores this clause).
        .with_for_update(skip_locked=True, of=OutboxMessage)  # type: ignore[arg-type]
    )
    with Session(engine) as session, session.begin():
        row = session.exec(query).first()
        if row is None:
            return None
        message, parent_state = row
        message.claim_token = token
        message.claimed_until = now + timedelta(seconds=policy.claim_seconds)
        coalesced = _claim_copies(session, message, token, now) if RENDER in message.payload else ()
        claimed = _Claimed(
            id=message.id,  # type: ignore[arg-type]
            team_id=message.team_id,
            method=message.method,
            payload=dict(message.payload),
            attempts=message.attempts,
            parent_state=parent_state,
            message_id=message.message_id,
            address=address_of(session, message),
            coalesced=coalesced,
        )
    return claimed


def _claim_copies(session: Session, message: OutboxMessage, token: str, now: datetime) -> tuple[int, ...]:
    """Claim the other pending copies of the intent `message` along with it: one call answers them all. Copies
    queued by transactions that commit later are not visible here, and get a call (a later rendering) of their
    own. Of the updates of one message (`depends_on`), only the copies queued before any other pending update of
    it are taken: a later copy rendered now would be overwritten by that update, which shows an earlier state."""
    copies = session.exec(
        select(OutboxMessage.id, OutboxMessage.payload)
        .where(
            OutboxMessage.team_id == message.team_id,
            OutboxMessage.method == message.method,
            col(OutboxMessage.payload) == message.payload
            if message.depends_on is None else OutboxMessage.depends_on == message.depends_on,
            OutboxMessage.state == "pending",
            col(OutboxMessage.id) != message.id,
            or_(col(OutboxMessage.claimed_until).is_(None), col(OutboxMessage.claimed_until) <= now),
        )
        .order_by(col(OutboxMessage.id))
        .with_for_update(skip_locked=True)
    ).all()
    ids: list[int] = []
    for copy_id, payload in copies:
        if payload != message.payload:
            break  # another update of the same message: the copies after it wait for it
        ids.append(copy_id)
    if ids:
        session.exec(  # type: ignore[call-overload]
            update(OutboxMessage).where(col(OutboxMessage.id).in_(ids))
            .values(claim_token=token, claimed_until=message.claimed_until)
        )
    return tuple(ids)


def _rendered(runtime: Deliveries, message: _Claimed) -> dict[str, Any] | _Outcome | None:
    """The payload to send: an intent rendered now, by its registered renderer; any other message as queued (and
    an update of a message whose post failed for good, which `_call` fails without sending)."""
    if RENDER not in message.payload or message.parent_state == "failed":
        return dict(message.payload)
    try:
        with Session(runtime.engine) as session:
            return runtime.renderers[message.payload[RENDER]](session, message.team_id, dict(message.payload))
    except Exception as exc:  # a bug or a database blip: retried with backoff, then failed; logged either way
        logger.exception("outbox #%s: rendering %s failed", message.id, message.payload[RENDER])
        return _Outcome("transient", error=f"rendering failed: {type(exc).__name__}")


def _call(client: WebClient, message: _Claimed, payload: dict[str, Any]) -> _Outcome:
    if message.parent_state == "failed":
        return _Outcome("permanent", error="original_not_delivered")
    payload.pop(THREAD_OF, None)
    for key, value in (message.address or {}).items():  # where a registered message (or its thread) is
        payload.setdefault(key, value)
    sent_with = client.token
    try:
        response = client.api_call(message.method, json=payload)
    except SlackApiError as exc:
        outcome = _classify(exc)
        if outcome.kind == "revoked" and client.token != sent_with:
            return _Outcome("transient", error=f"{outcome.error} for the previous bot token")
        return outcome
    except (TimeoutError, URLError, ConnectionError, HTTPException) as exc:
        return _Outcome("transient", error=f"network: {getattr(exc, 'reason', exc) or type(exc).__name__}")
    data = response.data if isinstance(response.data, dict) else {}
    if data.get("warning"):
        logger.warning("Slack warned on %s #%s: %s", message.method, message.id, data["warning"])
    return _Outcome("sent", result={k: data[k] for k in RESULT_FIELDS if k in data})


def _classify(exc: SlackApiError) -> _Outcome:
    status = exc.response.status_code
    error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
    if status == 429:
        retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        try:
            seconds = max(float(retry_after[0] if isinstance(retry_after, list) else retry_after), 1.0)
        except (TypeError, ValueError):
            seconds = 60.0  # Slack always sends it; if not, be conservative
        return _Outcome("rate_limited", error="ratelimited", retry_after=seconds)
    if status >= 500:
        return _Outcome("transient", error=f"HTTP {status}")
    if error in TRANSIENT_ERRORS:
        return _Outcome("transient", error=error)
    if error in REVOKED_ERRORS:
        return _Outcome("revoked", error=error)
    return _Outcome("permanent", error=error or f"HTTP {status}")


def _record(
    engine: Engine, message: _Claimed, token: str, outcome: _Outcome, now: datetime, policy: RetryPolicy
) -> None:
    released = {"claim_token": None, "claimed_until": None}
    if outcome.kind == "withdrawn":
        with Session(engine) as session, session.begin():
            session.exec(delete(OutboxMessage).where(  # type: ignore[call-overload]
                col(OutboxMessage.id).in_(message.ids), col(OutboxMessage.claim_token) == token))
        return
    if outcome.kind == "sent":
        values: dict[str, Any] = {"state": "sent", "result": outcome.result, "sent_at": now, "last_error": None}
    elif outcome.kind == "permanent":
        values = {"state": "failed", "last_error": outcome.error, "failed_at": now}
    elif outcome.kind == "rate_limited":
        values = {
            "next_attempt_at": now + timedelta(seconds=outcome.retry_after),
            "last_error": f"ratelimited: retrying after {outcome.retry_after:.0f}s",
        }
    elif outcome.kind == "revoked":  # not an attempt: the message waits, as it is, for the reinstall
        # The suspension stops claims of the workspace's messages; the delay covers a workspace this database does
        # not hold (nothing to suspend). A reinstall makes them due again (`installation.unsuspend`).
        values = {"last_error": f"{WAITING_FOR_REINSTALL}: {outcome.error}",
                  "next_attempt_at": now + timedelta(seconds=policy.claim_seconds)}
    else:
        attempts = message.attempts + 1
        if attempts >= policy.max_attempts:
            values = {
                "state": "failed",
                "attempts": attempts,
                "last_error": f"gave up after {attempts} attempts: {outcome.error}",
                "failed_at": now,
            }
        else:
            values = {
                "attempts": attempts,
                "next_attempt_at": now + policy.backoff(attempts),
                "last_error": outcome.error,
            }
    if "next_attempt_at" in values:
        reason = "rate_limited" if outcome.kind == "rate_limited" else "transient"
        SLACK_API_RETRIES.labels(message.method, reason).inc()
    with Session(engine) as session, session.begin():
        updated = session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(message.ids), col(OutboxMessage.claim_token) == token)
            .values(**values, **released)
        )
        if updated.rowcount == 0:
            logger.warning("outbox #%s: claim lapsed before its outcome (%s) was recorded", message.id, outcome.kind)
        if outcome.kind == "revoked":
            assert outcome.error is not None
            suspend(session, team_id=message.team_id, reason=outcome.error, now=now)
        elif outcome.kind == "rate_limited":
            _block(session, message.team_id, message.method, now + timedelta(seconds=outcome.retry_after))
        elif updated.rowcount and values.get("state") in ("sent", "failed") and _posts_a_registered_message(message):
            # A registered message's post is done: where Slack put it, or why it did not.
            assert message.message_id is not None
            record_post(session, message_id=message.message_id, now=now,
                        posted=(outcome.result or {}) if outcome.kind == "sent" else None, error=outcome.error)
    if outcome.kind == "permanent":
        logger.warning("outbox #%s %s failed for good: %s", message.id, message.method, outcome.error)


def _posts_a_registered_message(message: _Claimed) -> bool:
    return message.method == "chat.postMessage" and message.message_id is not None


def _block(session: Session, team_id: str, method: str, until: datetime) -> None:
    """Store Slack's Retry-After for every sender; never shortens a longer block already stored."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = SlackRateLimit.__table__  # type: ignore[attr-defined]
    insert = dialect.insert(table).values(team_id=team_id, method=method, blocked_until=until)
    session.exec(  # type: ignore[call-overload]
        insert.on_conflict_do_update(
            index_elements=["team_id", "method"],
            set_={"blocked_until": insert.excluded.blocked_until},
            where=table.c.blocked_until < insert.excluded.blocked_until,
        )
    )
