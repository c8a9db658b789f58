"""kpis: an initiative's KPIs (from its one free-text KPI), their actuals, and one reminder per period

The initiative's `kpi_name`, `kpi_baseline` and `kpi_target` become its first KPI. The texts are kept as typed
(`baseline_text`, `target_text`); a number is read from them only where that is unambiguous (one number, a
decimal point, the same unit on both), and the direction follows from them (a target below the baseline: lower
is better). The downgrade puts the first KPI's texts back on the initiative.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of bot.services.validation.parse_measure as of this revision (a migration never imports bot/).
_MEASURE = re.compile(r"^(?P<number>[+-]?\d{1,15}(?:\.\d{1,9})?)\s*(?P<unit>%|[^\W\d_][^\d]{0,19})?$")
_CODE_FIRST = re.compile(r"^(?P<unit>[A-Z]{3})\s*(?P<number>[+-]?\d{1,15}(?:\.\d{1,9})?)$")
KPI_COLUMNS = ("kpi_name", "kpi_baseline", "kpi_target")


def upgrade() -> None:
    op.create_table("kpi",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column("initiative_id", sa.Integer(), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column("direction", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column("baseline", sa.Float(), nullable=True),
    sa.Column("target", sa.Float(), nullable=True),
    sa.Column("target_date", sa.Date(), nullable=True),
    sa.Column("baseline_text", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column("target_text", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("direction IN ('higher', 'lower')", name="ck_kpi_direction"),
    sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"], ),
    sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"], ),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("initiative_id", "position", name="uq_kpi_position")
    )
    op.create_index("ix_kpi_initiative_id", "kpi", ["initiative_id"], unique=False)

    op.create_table("kpi_reminder",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column("initiative_id", sa.Integer(), nullable=False),
    sa.Column("due_on", sa.Date(), nullable=False),
    sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"], ),
    sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"], ),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("initiative_id", "due_on", name="uq_kpi_reminder")
    )
    op.create_table("kpi_actual",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column("kpi_id", sa.Integer(), nullable=False),
    sa.Column("value", sa.Float(), nullable=False),
    sa.Column("measured_on", sa.Date(), nullable=False),
    sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column("recorded_at", storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["kpi_id"], ["kpi.id"], ),
    sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"], ),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("kpi_id", "measured_on", name="uq_kpi_actual_date")
    )
    _move_kpis_to_their_table()
    # Plain ALTER TABLE … DROP COLUMN: batch mode"s rebuild would drop `initiative`, which many tables reference.
    for column in KPI_COLUMNS:
        op.drop_column("initiative", column)



def downgrade() -> None:
    for column, length in zip(KPI_COLUMNS, (200, 100, 100), strict=True):
        op.add_column("initiative", sa.Column(column, sa.String(length=length), nullable=False, server_default=""))
    _restore_first_kpis()
    op.drop_table("kpi_actual")
    op.drop_table("kpi_reminder")
    op.drop_index("ix_kpi_initiative_id", table_name="kpi")
    op.drop_table("kpi")


_initiative = sa.table("initiative", sa.column("id"), sa.column("team_id"), sa.column("kpi_name"),
                       sa.column("kpi_baseline"), sa.column("kpi_target"), sa.column("updated_at"))
_kpi = sa.table("kpi", sa.column("team_id"), sa.column("initiative_id"), sa.column("position"), sa.column("name"),
                sa.column("unit"), sa.column("direction"), sa.column("baseline"), sa.column("target"),
                sa.column("baseline_text"), sa.column("target_text"),
                sa.column("created_at", storage.types.UTCDateTime()),
                sa.column("updated_at", storage.types.UTCDateTime()))


def _move_kpis_to_their_table() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_initiative.c.id, _initiative.c.team_id, *(_initiative.c[c] for c in KPI_COLUMNS))
                        .where(sa.or_(*(_initiative.c[c] != "" for c in KPI_COLUMNS)))).all()
    now = datetime.now(UTC)
    kpis = [{"team_id": team_id, "initiative_id": initiative_id, "position": 0, "name": name,
             "baseline_text": baseline, "target_text": target, "created_at": now, "updated_at": now,
             **_numbers(baseline, target)}
            for initiative_id, team_id, name, baseline, target in rows]
    if kpis:
        bind.execute(_kpi.insert(), kpis)


def _numbers(baseline_text: str, target_text: str) -> dict[str, object]:
    """Baseline, target, unit and direction, where the texts say them unambiguously."""
    baseline, target = _measure(baseline_text), _measure(target_text)
    units = {measure[1] for measure in (baseline, target) if measure is not None}
    if len(units) != 1:  # neither is a number, or they disagree on the unit: keep only the texts
        return {"unit": "", "direction": "higher", "baseline": None, "target": None}
    lower = baseline is not None and target is not None and target[0] < baseline[0]
    return {"unit": units.pop(), "direction": "lower" if lower else "higher",
            "baseline": baseline[0] if baseline else None, "target": target[0] if target else None}


def _measure(text: str) -> tuple[float, str] | None:
    text = " ".join(text.split())
    match = _MEASURE.match(text) or _CODE_FIRST.match(text)
    return (float(match.group("number")), (match.group("unit") or "").strip()) if match else None


def _restore_first_kpis() -> None:
    first = _kpi.alias("first")
    for column, source in (("kpi_name", first.c.name), ("kpi_baseline", first.c.baseline_text),
                           ("kpi_target", first.c.target_text)):
        value = (sa.select(sa.func.substr(source, 1, 100 if column != "kpi_name" else 200))
                 .where(first.c.initiative_id == _initiative.c.id, first.c.position == 0).scalar_subquery())
        op.execute(_initiative.update().values({column: sa.func.coalesce(value, "")}))
