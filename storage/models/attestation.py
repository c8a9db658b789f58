"""After go-live: flags raised on an initiative (At risk, Stale model) and what MLflow last said about its model.

A flag is raised once and cleared once, never deleted: at most one is open per initiative and kind (partial unique
index), so two replicas, or a re-attestation and a model check at once, raise it once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Text, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

FLAG_KINDS = ("at_risk", "stale_model")


class InitiativeFlag(SQLModel, table=True):
    """At risk: an owner could not confirm a re-attestation item. Stale model: its MLflow model version is older
    than the stage's `max_model_age_days`."""

    __tablename__ = "initiative_flag"
    __table_args__ = (
        CheckConstraint("kind IN ('at_risk', 'stale_model')", name="ck_initiative_flag_kind"),
        Index(
            "uq_initiative_flag_open",
            "initiative_id",
            "kind",
            unique=True,
            sqlite_where=text("cleared_at IS NULL"),
            postgresql_where=text("cleared_at IS NULL"),
        ),
        Index("ix_initiative_flag_team_open", "team_id", "cleared_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    kind: str = Field(max_length=16)
    detail: str = Field(default="", sa_type=Text)  # why, as people read it
    raised_by: str = Field(max_length=32)
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    cleared_by: str | None = Field(default=None, max_length=32)
    cleared_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ModelCheck(SQLModel, table=True):
    """The latest answer about an initiative's MLflow model: fresh, stale, or unknown (MLflow could not be asked,
    which is never taken for fresh)."""

    __tablename__ = "model_check"
    __table_args__ = (CheckConstraint("state IN ('fresh', 'stale', 'unknown')", name="ck_model_check_state"),)

    initiative_id: int = Field(foreign_key="initiative.id", primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    model_name: str = Field(max_length=256)
    state: str = Field(max_length=10)
    version: str | None = Field(default=None, max_length=64)
    version_created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    evidence: str = Field(default="", max_length=500)
    checked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
