"""Integrations over HTTP: webhook endpoints and their deliveries, evidence-link checks, automatic (MLflow)
checklist results.

A webhook delivery is written in the transaction of the event that causes it (like a Slack outbox row) and
moves `pending` -> `sent` or `pending` -> `failed` exactly once; a worker holds a short claim while it posts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from storage.models.core import JSONType
from storage.types import UTCDateTime, utcnow


class WebhookEndpoint(SQLModel, table=True):
    """A receiver registered by an admin. `events` empty means every event type."""

    __tablename__ = "webhook_endpoint"
    __table_args__ = (UniqueConstraint("team_id", "url", name="uq_webhook_endpoint_url"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32, index=True)
    url: str = Field(max_length=2000)
    # `whsec_<base64>` as Standard Webhooks defines it; shown once at registration.
    secret: str = Field(max_length=100)
    events: list = Field(default_factory=list, sa_type=JSONType, nullable=False)
    enabled: bool = Field(default=True, nullable=False)
    # The receiver gets no event about a confidential initiative (payloads otherwise say `confidential: true`).
    skip_confidential: bool = Field(default=False, nullable=False, sa_column_kwargs={"server_default": false()})
    consecutive_failures: int = Field(default=0, nullable=False)
    last_error: str | None = Field(default=None, sa_type=Text, nullable=True)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint. `message_id` is the `webhook-id` header: the same on every retry."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'sent', 'failed')", name="ck_webhook_delivery_state"),
        UniqueConstraint("message_id", name="uq_webhook_delivery_message_id"),
        Index("ix_webhook_delivery_due", "state", "next_attempt_at"),
        Index("ix_webhook_delivery_state_finished_at", "state", "finished_at"),  # what a prune finds
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", ondelete="CASCADE", index=True)
    message_id: str = Field(max_length=40)
    event_type: str = Field(max_length=40)
    payload: dict[str, Any] = Field(sa_type=JSONType, nullable=False)
    state: str = Field(default="pending", max_length=10)
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    claim_token: str | None = Field(default=None, max_length=36)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    last_status: int | None = Field(default=None)
    last_error: str | None = Field(default=None, sa_type=Text, nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class EvidenceCheck(SQLModel, table=True):
    """The last check of one evidence link in a workspace, and when it is due again."""

    __tablename__ = "evidence_check"
    __table_args__ = (
        CheckConstraint("state IN ('unchecked', 'ok', 'broken', 'blocked')", name="ck_evidence_check_state"),
        UniqueConstraint("team_id", "url", name="uq_evidence_check_url"),
        Index("ix_evidence_check_due", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    url: str = Field(max_length=500)
    state: str = Field(default="unchecked", max_length=10)
    status_code: int | None = Field(default=None)
    detail: str | None = Field(default=None, max_length=300)
    checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    due_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class AutomaticCheck(SQLModel, table=True):
    """The result of an automatic checklist item (an MLflow model check) for one review."""

    __tablename__ = "automatic_check"
    __table_args__ = (
        CheckConstraint("outcome IN ('pending', 'passed', 'failed', 'unknown')", name="ck_automatic_check_outcome"),
        UniqueConstraint("review_id", "role", "item_id", name="uq_automatic_check_item"),
        Index("ix_automatic_check_outcome", "outcome"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    review_id: int = Field(foreign_key="gate_review.id", ondelete="CASCADE", index=True)
    role: str = Field(max_length=32)
    item_id: str = Field(max_length=32)
    spec: dict[str, Any] = Field(sa_type=JSONType, nullable=False)  # the item's `check` from the gate definition
    outcome: str = Field(default="pending", max_length=10)
    evidence: str | None = Field(default=None, max_length=500)
    checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # Set while one replica runs the check (`claim_due_checks`), cleared when it records the result.
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
