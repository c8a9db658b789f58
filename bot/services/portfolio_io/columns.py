"""The spreadsheet's columns: what each holds, and which owner role a person column fills."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    meaning: str


COLUMNS = (
    Column("key", "AI-12: update that initiative (empty: match by title, or create)"),
    Column("title", "required; a title already here (any case or spacing) updates that initiative"),
    Column("description", "what it is"),
    Column("stage", "a stage id or name (empty: the first stage); an existing initiative keeps its stage"),
    Column("status", "active (default), paused or retired"),
    Column("risk_tier", "low, medium (default) or high"),
    Column("business_owner", "a Slack user id (U…) or an e-mail address"),
    Column("data_owner", "a Slack user id (U…) or an e-mail address"),
    Column("engineering_owner", "a Slack user id (U…) or an e-mail address"),
    Column("compliance_owner", "a Slack user id (U…) or an e-mail address"),
    Column("sponsor", "a Slack user id (U…) or an e-mail address"),
    Column("kpi_name", "the KPI"),
    Column("kpi_baseline", "its baseline"),
    Column("kpi_target", "its target"),
    Column("tags", "comma-separated"),
    Column("business_unit", "the team or business unit"),
    Column("created", "YYYY-MM-DD (empty: the day of the import)"),
    # Written by `export` too, so that an export imported again changes nothing.
    Column("problem", "the business problem"),
    Column("channel", "the announcements channel id (C…)"),
    Column("mlflow_model", "its MLflow registered model, whose age is checked"),
)
COLUMN_NAMES = tuple(column.name for column in COLUMNS)
REQUIRED = ("title",)

# Person columns -> the owner role they fill (the default gates' roles).
OWNER_COLUMNS = {
    "business_owner": "business",
    "data_owner": "data",
    "engineering_owner": "engineering",
    "compliance_owner": "compliance",
    "sponsor": "sponsor",
}


def header_name(raw: str) -> str:
    """A header cell as a column name: `Business owner`, ` business-owner ` -> business_owner."""
    return "_".join(raw.strip().lower().replace("-", " ").split())

# `initiative-bot export kpis`: one row per KPI actual (numbers as plain decimals, times in UTC).
KPI_ACTUAL_COLUMNS = ("key", "title", "kpi", "unit", "direction", "baseline", "target", "target_date", "measured_on",
                      "value", "note", "recorded_by", "recorded_at")
