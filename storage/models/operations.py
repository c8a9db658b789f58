"""What operators need the database to remember.

- `AuditVerification`: the outcome of each `initiative-bot audit verify`, so that `/metrics` can show the last one
  (a run is a separate process, whose own metrics would vanish with it).
- `MaintenanceRun`: which replica took a daily maintenance job (the prune) on which day; the primary key lets one
  replica only take it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class AuditVerification(SQLModel, table=True):
    """One run of `audit verify` for one workspace: when, how many events it checked, and the first broken link."""

    __tablename__ = "audit_verification"
    __table_args__ = (Index("ix_audit_verification_at", "verified_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    verified_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    ok: bool = Field(nullable=False)
    checked: int = Field(nullable=False)
    problem: str | None = Field(default=None, sa_type=Text, nullable=True)


class MaintenanceRun(SQLModel, table=True):
    __tablename__ = "maintenance_run"

    job: str = Field(primary_key=True, max_length=40)
    day: date = Field(primary_key=True)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
