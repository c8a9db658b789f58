"""Waived checklist items, each with its reason and the date its waiver expires (bot/services/waivers).

The sign-off keeps its answer as it always did (`sign_off.waivers`: item -> reason); this table holds one row per
waived item, written in the same transaction, so that the expiry jobs find what is due by date. `warned_at` and
`expired_at` are each set once, by a compare-and-set update (`WHERE ... IS NULL`): two replicas' jobs warn, and
expire, each waiver exactly once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class ChecklistWaiver(SQLModel, table=True):
    """One checklist item waived in one sign-off: why, by whom, and until when."""

    __tablename__ = "checklist_waiver"
    __table_args__ = (
        UniqueConstraint("sign_off_id", "item_id", name="uq_checklist_waiver_item"),
        Index("ix_checklist_waiver_due", "team_id", "expires_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    sign_off_id: int = Field(foreign_key="sign_off.id")
    gate_slug: str = Field(max_length=64)
    role: str = Field(max_length=32)
    item_id: str = Field(max_length=32)
    reason: str = Field(sa_type=Text)
    waived_by: str = Field(max_length=32)
    waived_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_on: date = Field(nullable=False)  # the first day it no longer holds, in the waiver's owner's zone
    warned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # told 5 business days before
    expired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # became a tracked item
