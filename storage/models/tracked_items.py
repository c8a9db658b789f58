"""Tracked items: what a gate decision leaves someone to do after the gate, with an owner, a due date and a state.

Two kinds share one table, since they are tracked, nudged, escalated, listed and closed alike:
- `condition`: a Conditional Go's condition ("retraining pipeline in place by 15 March"), shown as `KEY-C1`;
- `waiver`: a waived checklist item whose waiver expired, shown as `KEY-W1`.

Numbers count per initiative and kind (unique), so `AI-7-C2` names one item for good. A row is never deleted:
closing it (met, cancelled) sets `state`, who and when, once (`state` moves off `open` with its `closed_at`).
Who was reminded of an item, and when, lives with the sign-offs' reminders in `nudge_log` (`item_ids`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.core import JSONType
from storage.types import UTCDateTime, utcnow

TRACKED_ITEM_KINDS = ("condition", "waiver")
TRACKED_ITEM_STATES = ("open", "met", "cancelled")


class TrackedItem(SQLModel, table=True):
    """One condition of a Conditional Go, or one expired waiver, to be met by its owner by its due date."""

    __tablename__ = "tracked_item"
    __table_args__ = (
        UniqueConstraint("initiative_id", "kind", "number", name="uq_tracked_item_number"),
        CheckConstraint("kind IN ('condition', 'waiver')", name="ck_tracked_item_kind"),
        CheckConstraint("state IN ('open', 'met', 'cancelled')", name="ck_tracked_item_state"),
        CheckConstraint("(state = 'open') = (closed_at IS NULL)", name="ck_tracked_item_closed_at"),
        # What waits on a person: open items by owner; and the digest's open/overdue/met counts.
        Index("ix_tracked_item_open_owner", "team_id", "state", "owner"),
        Index("ix_tracked_item_team_closed", "team_id", "closed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    kind: str = Field(max_length=16)
    number: int = Field(nullable=False)  # KEY-C<number> / KEY-W<number>
    # Where it came from: the gate (and the review of it) that set it, the stage that gate led to, and for a
    # waiver (or a condition written on one sign-off) that sign-off and checklist item.
    gate_slug: str = Field(max_length=64)
    stage: str = Field(max_length=64)
    review_id: int | None = Field(default=None, foreign_key="gate_review.id")
    sign_off_id: int | None = Field(default=None, foreign_key="sign_off.id")
    checklist_item: str | None = Field(default=None, max_length=64)
    text: str = Field(sa_type=Text)
    owner: str = Field(max_length=32)
    due_on: date = Field(nullable=False)  # due by 17:00 in the owner's zone on that day
    state: str = Field(default="open", max_length=16)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    closed_by: str | None = Field(default=None, max_length=32)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    evidence: str = Field(default="", sa_type=Text)  # how it was met: a note, links
    evidence_links: list = Field(default_factory=list, sa_type=JSONType, nullable=False)
    close_reason: str = Field(default="", sa_type=Text)  # why cancelled
    # When it was first found overdue (its `condition.overdue` event is recorded once).
    overdue_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def letter(self) -> str:
        return "C" if self.kind == "condition" else "W"
