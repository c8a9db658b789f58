"""The outbox: Slack Web API calls written in the same transaction as the change that causes them, and the
per-workspace rate-limit state every sender process shares.

A row moves `pending` -> `sent` (with Slack's answer in `result`) or `pending` -> `failed` (with the error in
`last_error`), exactly once. While a sender works on a row it holds a short claim (`claim_token`,
`claimed_until`), so that other senders skip it and a crashed sender's rows come back when the claim lapses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.core import JSONType
from storage.types import UTCDateTime, utcnow

OUTBOX_STATES = ("pending", "sent", "failed")


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'sent', 'failed')", name="ck_outbox_message_state"),
        # NULL keys never collide, so only messages that ask for deduplication get it.
        UniqueConstraint("team_id", "dedupe_key", name="uq_outbox_message_dedupe_key"),
        # What a sender scans: pending rows that are due, oldest first.
        Index("ix_outbox_message_due", "state", "next_attempt_at"),
        Index("ix_outbox_message_team_state", "team_id", "state", "id"),
        Index("ix_outbox_message_state_sent_at", "state", "sent_at"),  # what a prune finds
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    method: str = Field(max_length=64)
    payload: dict[str, Any] = Field(sa_type=JSONType, nullable=False)
    state: str = Field(default="pending", max_length=10)
    # An update waits for its original post (and the updates enqueued before it) to be done.
    depends_on: int | None = Field(default=None, foreign_key="outbox_message.id", index=True)
    # The registered message this call posts (the sender records Slack's answer there) or updates (it takes
    # `channel` and `ts` from there). No foreign key (as nudge_log.outbox_id): SQLite adds or drops a column with
    # one only by rebuilding the table, and rows elsewhere reference this one.
    message_id: int | None = Field(default=None, index=True)
    dedupe_key: str | None = Field(default=None, max_length=200)
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    claim_token: str | None = Field(default=None, max_length=36)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    result: dict[str, Any] | None = Field(default=None, sa_type=JSONType, nullable=True)
    last_error: str | None = Field(default=None, sa_type=Text, nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class SlackRateLimit(SQLModel, table=True):
    """Slack said 429 for this method in this workspace: no sender calls it again before `blocked_until`."""

    __tablename__ = "slack_rate_limit"

    team_id: str = Field(primary_key=True, max_length=32)
    method: str = Field(primary_key=True, max_length=64)
    blocked_until: datetime = Field(sa_type=UTCDateTime, nullable=False)
