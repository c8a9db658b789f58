"""An initiative's KPIs, their actuals, and the reminders that ask for them (bot/services/kpis).

A KPI's baseline and target are numbers when they were given as one; `baseline_text` and `target_text` keep what
was typed (a migrated free-text KPI, an import's cells), so that nothing is lost when a text is not a number.
Actuals are a time series with one value per KPI and measurement date: recording another value for the same date
corrects it (the audit trail keeps the earlier one). A reminder is sent once per initiative and period (unique
constraint), whichever replica's job gets there first.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Float, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

KPI_DIRECTIONS = ("higher", "lower")


class Kpi(SQLModel, table=True):
    __tablename__ = "kpi"
    __table_args__ = (
        UniqueConstraint("initiative_id", "position", name="uq_kpi_position"),
        CheckConstraint("direction IN ('higher', 'lower')", name="ck_kpi_direction"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    position: int = Field(nullable=False)  # 0 is the initiative's first KPI (the form's and the import's)
    name: str = Field(default="", max_length=200)
    unit: str = Field(default="", max_length=20)  # "%", "h", an ISO 4217 code such as "EUR"
    direction: str = Field(default="higher", max_length=6)  # which way is better
    baseline: float | None = Field(default=None, sa_type=Float)
    target: float | None = Field(default=None, sa_type=Float)
    target_date: date | None = Field(default=None)
    baseline_text: str = Field(default="", max_length=100)  # as typed
    target_text: str = Field(default="", max_length=100)  # as typed
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class KpiActual(SQLModel, table=True):
    """One measured value of a KPI, with who recorded it and when."""

    __tablename__ = "kpi_actual"
    __table_args__ = (UniqueConstraint("kpi_id", "measured_on", name="uq_kpi_actual_date"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    kpi_id: int = Field(foreign_key="kpi.id")
    value: float = Field(sa_type=Float, nullable=False)
    measured_on: date = Field(nullable=False)
    note: str = Field(default="", max_length=500)
    recorded_by: str = Field(max_length=32)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class KpiReminder(SQLModel, table=True):
    """The request to a live initiative's business owner to record actuals: one per initiative and period."""

    __tablename__ = "kpi_reminder"
    __table_args__ = (UniqueConstraint("initiative_id", "due_on", name="uq_kpi_reminder"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    initiative_id: int = Field(foreign_key="initiative.id")
    due_on: date = Field(nullable=False)  # the day actuals fell due (the start of the period asked about)
    recipient: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
