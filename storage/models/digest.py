"""The weekly digest: what to post where and when, and each week's run with its recorded steps.

A run is unique per (digest, ISO week in the digest's zone), so two replicas, a restart or a retry can never
post the same week twice. Each step with a visible effect in Slack is written down before the next one starts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.core import JSONType, _at
from storage.types import UTCDateTime

DEFAULT_CRON = "0 9 * * 1"


class Digest(SQLModel, table=True):
    """A digest definition: channel, optional filter (tag or team/business unit), cron schedule in a zone."""

    __table_args__ = (
        UniqueConstraint("team_id", "name", name="uq_digest_name"),
        CheckConstraint("filter_tag IS NULL OR filter_business_unit IS NULL", name="ck_digest_one_filter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    name: str = Field(max_length=64)
    channel_id: str = Field(max_length=32)
    filter_tag: str | None = Field(default=None, max_length=100)
    filter_business_unit: str | None = Field(default=None, max_length=100)
    cron: str = Field(default=DEFAULT_CRON, max_length=100)
    timezone: str = Field(max_length=64)
    enabled: bool = Field(default=True, nullable=False)
    created_by: str = Field(max_length=32)
    created_at: datetime = _at()


class DigestRun(SQLModel, table=True):
    """One week's posting of one digest. `state`: posting -> posted | failed; failed -> posting again while
    `retry_at` is set (the text is queued anew, `text_attempts` counts its posts). The chart has its own state."""

    __tablename__ = "digest_run"
    __table_args__ = (
        UniqueConstraint("digest_id", "week", name="uq_digest_run_week"),
        CheckConstraint("state IN ('posting', 'posted', 'failed')", name="ck_digest_run_state"),
        CheckConstraint(
            "chart_state IN ('pending', 'uploading', 'uploaded', 'failed')", name="ck_digest_run_chart_state"
        ),
        Index("ix_digest_run_unfinished", "state", "chart_state"),
        Index("ix_digest_run_finished_at", "finished_at"),  # what a prune finds
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    digest_id: int = Field(foreign_key="digest.id")
    week: str = Field(max_length=8)  # ISO week in the digest's zone, e.g. 2026-W48
    as_of: datetime = Field(sa_type=UTCDateTime, nullable=False)
    state: str = Field(default="posting", max_length=10)
    # The text's registered message: its state says whether Slack took it, its channel and ts where it is.
    message_id: int | None = Field(default=None)  # slack_message.id; no foreign key, see OutboxMessage.message_id
    channel_id: str | None = Field(default=None, max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    text_attempts: int = Field(default=1, nullable=False, sa_column_kwargs={"server_default": "1"})
    retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # a failed text's next try; None: no more
    chart_state: str = Field(default="pending", max_length=10)
    chart_attempts: int = Field(default=0, nullable=False)
    chart_claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _at()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DigestRunStep(SQLModel, table=True):
    """A step taken for a run: `text` (channel, ts), `upload_url`, `upload`, `complete`, `admin_notice`.

    `complete` is written as `started` before files.completeUploadExternal is called: a run whose complete step
    started but never finished is not retried, because Slack may already show the chart.
    """

    __tablename__ = "digest_run_step"
    __table_args__ = (
        UniqueConstraint("run_id", "step", "attempt", name="uq_digest_run_step"),
        CheckConstraint("state IN ('started', 'done', 'failed')", name="ck_digest_run_step_state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    run_id: int = Field(foreign_key="digest_run.id", index=True)
    step: str = Field(max_length=20)
    attempt: int = Field(default=1, nullable=False)
    state: str = Field(max_length=10)
    result: dict | None = Field(default=None, sa_type=JSONType)
    error: str | None = Field(default=None, sa_type=Text)
    at: datetime = _at()
