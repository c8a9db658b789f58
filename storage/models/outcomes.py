"""Gate outcomes other than Go: Hold, Recycle, Kill (bot/services/outcomes), and the revisit prompts of holds.

One row per decision, kept for good: ending a hold sets `ended_at`, never deletes. At most one hold is open per
initiative (partial unique index), and a hold's revisit prompt is sent once per revisit date (unique constraint),
whichever replica's job gets there first.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

OUTCOME_KINDS = ("hold", "recycle", "kill")


class InitiativeOutcome(SQLModel, table=True):
    """A decision about an initiative other than passing a gate: hold it until a date, recycle it to an earlier
    stage, or kill it, with the reason (and, for a kill, what was learned)."""

    __tablename__ = "initiative_outcome"
    __table_args__ = (
        CheckConstraint("kind IN ('hold', 'recycle', 'kill')", name="ck_initiative_outcome_kind"),
        CheckConstraint("(kind = 'hold') = (revisit_on IS NOT NULL)", name="ck_initiative_outcome_revisit"),
        CheckConstraint("(kind = 'recycle') = (to_stage IS NOT NULL)", name="ck_initiative_outcome_to_stage"),
        Index(
            "uq_initiative_outcome_open_hold",
            "initiative_id",
            unique=True,
            sqlite_where=text("kind = 'hold' AND ended_at IS NULL"),
            postgresql_where=text("kind = 'hold' AND ended_at IS NULL"),
        ),
        Index("ix_initiative_outcome_team_kind", "team_id", "kind", "decided_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    kind: str = Field(max_length=10)
    stage: str = Field(max_length=64)  # the stage it was in when decided
    to_stage: str | None = Field(default=None, max_length=64)  # a recycle's earlier stage
    reason: str = Field(sa_type=Text)  # why held, what must be redone, why killed
    lessons: str = Field(default="", sa_type=Text)  # a kill's "what we learned"
    revisit_on: date | None = Field(default=None)  # a hold's revisit date (extensions move it)
    decided_by: str = Field(max_length=32)
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # a hold resumed or killed
    ended_by: str | None = Field(default=None, max_length=32)


class HoldRevisitPrompt(SQLModel, table=True):
    """The DM asking a hold's sponsor, on its revisit date, to resume, extend or kill: one per hold and date."""

    __tablename__ = "hold_revisit_prompt"
    __table_args__ = (UniqueConstraint("outcome_id", "revisit_on", name="uq_hold_revisit_prompt"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    outcome_id: int = Field(foreign_key="initiative_outcome.id")
    revisit_on: date = Field(nullable=False)
    recipient: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
