"""The portfolio as a spreadsheet: the portfolio_io domain's public face, and the export itself.

The export gathers the portfolio as rows of text, in the import's columns: exported, edited, imported again. The
import's steps are re-exported from the internals: `table` reads the file, `rows` checks each row on its own and
`importing` plans the import against the database and applies it."""

from __future__ import annotations

from datetime import UTC

from sqlmodel import Session, col, select

from bot.services.access.service import Audience, visible_to
from bot.services.kpis.service import export_actuals, first_kpi_texts, format_measure
from bot.services.portfolio_io.columns import COLUMN_NAMES, COLUMNS, KPI_ACTUAL_COLUMNS, OWNER_COLUMNS
from bot.services.portfolio_io.importing import (
    IMPORTED_INTO,
    ImportPlan,
    LookupPerson,
    SlackPerson,
    apply_import,
    email_addresses,
    plan_import,
    resolve_people,
    user_ids,
)
from bot.services.portfolio_io.rows import parse_rows
from bot.services.portfolio_io.table import ImportFileError, Problem, read_table, write_csv, write_xlsx
from storage.models import Initiative, Kpi, OwnerAssignment

# The domain's public face: what the rest of the bot may call (its other modules are internals).
__all__ = [
    "COLUMNS", "COLUMN_NAMES", "IMPORTED_INTO", "KPI_ACTUAL_COLUMNS", "ImportFileError", "ImportPlan", "LookupPerson",
    "Problem", "SlackPerson", "apply_import", "email_addresses", "export_kpi_rows", "export_rows", "parse_rows",
    "plan_import", "read_table", "resolve_people", "user_ids", "write_csv", "write_xlsx"
]


def export_rows(session: Session, *, audience: Audience) -> list[dict[str, str]]:
    """Every initiative the audience may see, whatever its status, by key; owners as Slack user ids."""
    initiatives = session.exec(
        select(Initiative).where(visible_to(audience)).order_by(col(Initiative.number))).all()
    owners: dict[int, dict[str, str]] = {}
    for initiative_id, role, user_id in session.exec(
            select(OwnerAssignment.initiative_id, OwnerAssignment.role, OwnerAssignment.user_id)
            .where(OwnerAssignment.team_id == audience.team_id)):
        owners.setdefault(initiative_id, {})[role] = user_id
    kpis = {kpi.initiative_id: kpi for kpi in session.exec(
        select(Kpi).where(Kpi.team_id == audience.team_id, Kpi.position == 0))}
    return [_row(initiative, owners.get(initiative.id, {}), first_kpi_texts(kpis.get(initiative.id)))
            for initiative in initiatives]


def _row(initiative: Initiative, owners: dict[str, str], kpi: dict[str, str]) -> dict[str, str]:
    row = {
        "key": initiative.key,
        "title": initiative.title,
        "description": initiative.description,
        "stage": initiative.stage,
        "status": initiative.status,
        "risk_tier": initiative.risk_tier,
        **kpi,  # the first KPI: its name, and its baseline and target as typed
        "tags": ", ".join(initiative.tags),
        "business_unit": initiative.business_unit,
        "created": initiative.created_at.astimezone(UTC).date().isoformat(),
        "problem": initiative.problem,
        "channel": initiative.channel_id or "",
        "mlflow_model": initiative.mlflow_model or "",
        **{column: owners.get(role, "") for column, role in OWNER_COLUMNS.items()},
    }
    return {name: row[name] for name in COLUMN_NAMES}


def export_kpi_rows(session: Session, *, audience: Audience) -> list[dict[str, str]]:
    """Every KPI actual the audience may see, by initiative, KPI and date, with who recorded it and when."""
    return [{
        "key": row.initiative.key, "title": row.initiative.title, "kpi": row.kpi.name, "unit": row.kpi.unit,
        "direction": row.kpi.direction, "baseline": format_measure(row.kpi.baseline, ""),
        "target": format_measure(row.kpi.target, ""),
        "target_date": row.kpi.target_date.isoformat() if row.kpi.target_date else "",
        "measured_on": row.actual.measured_on.isoformat(), "value": repr(row.actual.value).removesuffix(".0"),
        "note": row.actual.note, "recorded_by": row.actual.recorded_by,
        "recorded_at": row.actual.recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    } for row in export_actuals(session, audience=audience)]
