"""Prune the rows that only serve for a while, in bounded batches; never the audit trail.

What goes, once older than its setting's number of days (bot.config, `RETENTION_*_DAYS`):
- event receipts (they only catch Slack's retries, which come within minutes);
- sent outbox messages, unless a message still waiting depends on them (an update needs its post's address);
- finished webhook deliveries (sent or failed);
- nudge logs;
- finished digest runs, with their steps.

Each batch is its own short transaction: a prune never holds locks long, and stopping half-way loses nothing. On
PostgreSQL the batch's rows are taken `FOR UPDATE SKIP LOCKED`, so two replicas pruning at once take different
rows; deleting a row twice is impossible and harmless to try. The daily job (scheduled.py) runs in one replica a
day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from bot.config import Settings
from bot.services.scheduling import JobRuntime
from storage.models import DigestRun, DigestRunStep, NudgeLog, OutboxMessage, SlackEventReceipt, WebhookDelivery
from storage.types import utcnow

BATCH = 1000


@dataclass(frozen=True)
class Rule:
    """One kind of row to prune: its table's primary key, and which of its rows are old enough at `cutoff`."""

    name: str
    key: Any  # the primary key column
    days: Callable[[Settings], int]
    expired: Callable[[datetime], Any]  # a WHERE clause
    dependents: tuple[Any, ...] = ()  # columns of other tables naming the row: those rows go with it


def _sent_outbox_expired(cutoff: datetime) -> Any:
    waiting = aliased(OutboxMessage)
    return (
        (OutboxMessage.state == "sent")
        & (col(OutboxMessage.sent_at) < cutoff)
        & ~exists().where(waiting.depends_on == OutboxMessage.id, waiting.state == "pending")
    )


RULES = (
    Rule("event receipts", col(SlackEventReceipt.event_id), lambda s: s.retention_event_receipt_days,
         lambda cutoff: col(SlackEventReceipt.received_at) < cutoff),
    Rule("sent outbox messages", col(OutboxMessage.id), lambda s: s.retention_sent_outbox_days, _sent_outbox_expired),
    Rule("webhook deliveries", col(WebhookDelivery.id), lambda s: s.retention_webhook_delivery_days,
         lambda cutoff: col(WebhookDelivery.state).in_(("sent", "failed"))
         & (col(WebhookDelivery.finished_at) < cutoff)),
    Rule("nudge logs", col(NudgeLog.id), lambda s: s.retention_nudge_log_days,
         lambda cutoff: col(NudgeLog.created_at) < cutoff),
    Rule("finished digest runs", col(DigestRun.id), lambda s: s.retention_digest_run_days,
         lambda cutoff: col(DigestRun.finished_at) < cutoff,
         dependents=(col(DigestRunStep.run_id),)),
)


def prune(runtime: JobRuntime, *, now: datetime | None = None, dry_run: bool = False,
          batch: int = BATCH) -> dict[str, int]:
    """Delete (or, with `dry_run`, count) what each rule lets go; returns how many rows, by rule name."""
    now = now or utcnow()
    done: dict[str, int] = {}
    for rule in RULES:
        cutoff = now - timedelta(days=rule.days(runtime.settings))
        if dry_run:
            with runtime.read() as session:
                done[rule.name] = session.exec(select(func.count()).where(rule.expired(cutoff))).one()
            continue
        done[rule.name] = 0
        while deleted := _delete_batch(runtime, rule, cutoff, batch):
            done[rule.name] += deleted
            if deleted < batch:
                break
    return done


def batch_query(rule: Rule, cutoff: datetime, batch: int) -> Any:
    """The keys of up to `batch` rows the rule lets go, locked (rows another replica holds are skipped). No ORDER BY:
    the key's order would lead the planner to walk the whole table by its key instead of finding the old rows
    through their age's index (migration 0023), and any batch will do."""
    return select(rule.key).where(rule.expired(cutoff)).limit(batch).with_for_update(skip_locked=True)


def _delete_batch(runtime: JobRuntime, rule: Rule, cutoff: datetime, batch: int) -> int:
    with runtime.transaction() as session:
        keys = list(session.exec(batch_query(rule, cutoff, batch)).all())
        if not keys:
            return 0
        for column in rule.dependents:
            session.exec(delete(column.table).where(column.in_(keys)))  # type: ignore[call-overload]
        session.exec(delete(rule.key.table).where(rule.key.in_(keys)))  # type: ignore[call-overload]
    return len(keys)
