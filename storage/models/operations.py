"""What operators need the database to remember: the outcome of the last `initiative-bot audit verify`, so that
`/metrics` can show it (a run is a separate process, whose own metrics would vanish with it)."""

from __future__ import annotations

from datetime import datetime

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
