"""Messages the bot has posted and may update later (sign-off DMs, gate-passed announcements, digests): the
registry a `chat.update` takes its `channel` and `ts` from, as Sentry's notification-message table.

A row is written with the `chat.postMessage` that creates the message, in the same transaction; the outbox sender
fills in Slack's `channel` and `ts` (or the error) when the post is delivered. The outbox stays a queue: nothing
reads a message's address or state back from queued payloads.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Text, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

MESSAGE_STATES = ("pending", "posted", "failed")


class SlackMessage(SQLModel, table=True):
    __tablename__ = "slack_message"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'posted', 'failed')", name="ck_slack_message_state"),
        # One live message per subject: a sign-off has one request DM, a digest run one text, a review one
        # announcement. A sign-off moved to a new owner gets a new DM; the old row is kept, marked replaced, for
        # the update that tells its reader where the sign-off went.
        Index("uq_slack_message_live", "team_id", "kind", "subject", unique=True,
              sqlite_where=text("replaced_at IS NULL"), postgresql_where=text("replaced_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    kind: str = Field(max_length=32)  # sign_off_request | gate_passed | digest
    subject: str = Field(max_length=64)  # the id of what the message is about: sign-off, review, digest run
    state: str = Field(default="pending", max_length=10)
    channel: str | None = Field(default=None, max_length=32)  # Slack's answer: a DM's D… id, not the user's
    ts: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, sa_type=Text, nullable=True)
    # SHA-256 of what the message shows as last posted or updated, so an update that changes nothing is skipped.
    shown_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    replaced_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
