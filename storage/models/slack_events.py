"""Events API deliveries already received, so that Slack's retries of the same `event_id` are ignored."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class SlackEventReceipt(SQLModel, table=True):
    __tablename__ = "slack_event_receipt"

    # Slack's event ids are unique across workspaces; the primary key is the deduplication.
    event_id: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(max_length=32)
    event_type: str = Field(max_length=64)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
