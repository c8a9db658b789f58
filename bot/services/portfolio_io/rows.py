"""Each row on its own, before any database is asked: every cell checked by the rules the bot's other surfaces
use (`bot.services.validation`), every problem collected."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.services.errors import InvalidInput
from bot.services.portfolio_io.columns import OWNER_COLUMNS
from bot.services.portfolio_io.table import Problem, SourceRow
from bot.services.validation import (
    BUSINESS_UNIT,
    DESCRIPTION,
    KPI_BASELINE,
    KPI_NAME,
    KPI_TARGET,
    PROBLEM,
    USER_ID_PATTERN,
    check_channel_id,
    check_risk_tier,
    clean_characters,
    clean_model_name,
    clean_tags,
    clean_text,
    clean_title,
    parse_key,
)

STATUSES = ("active", "paused", "retired")
# Deliberately loose: Slack decides whether an address is a person's; this only tells an address from a typo'd id.
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>$")

# Column -> the initiative's field and the rule that cleans it.
_TEXT_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "title": ("title", clean_title),
    "description": ("description", lambda v: clean_text(v, DESCRIPTION)),
    "problem": ("problem", lambda v: clean_text(v, PROBLEM)),
    "kpi_name": ("kpi_name", lambda v: clean_text(v, KPI_NAME)),
    "kpi_baseline": ("kpi_baseline", lambda v: clean_text(v, KPI_BASELINE)),
    "kpi_target": ("kpi_target", lambda v: clean_text(v, KPI_TARGET)),
    "business_unit": ("business_unit", lambda v: clean_text(v, BUSINESS_UNIT)),
    "risk_tier": ("risk_tier", check_risk_tier),
    "tags": ("tags", lambda v: clean_tags(v.split(","))),
    "channel": ("channel_id", check_channel_id),
    "mlflow_model": ("mlflow_model", clean_model_name),
}


@dataclass(frozen=True)
class Person:
    """An owner as the file names them: a Slack user id, or an e-mail address (lower case) to look up."""

    user_id: str | None = None
    email: str | None = None


@dataclass
class ImportRow:
    """One row's values; a column left empty is absent (an import leaves that field as it is)."""

    line: int
    number: int | None = None  # the key's number
    fields: dict[str, Any] = field(default_factory=dict)  # initiative field -> clean value
    stage: str | None = None  # as written: an id or a name, matched against the catalog later
    status: str | None = None
    created: date | None = None
    owners: dict[str, Person] = field(default_factory=dict)  # column -> person

    @property
    def title(self) -> str:
        return self.fields.get("title", "")


def parse_rows(rows: Iterable[SourceRow]) -> tuple[list[ImportRow], list[Problem]]:
    parsed, problems = [], []
    for source in rows:
        row, row_problems = parse_row(source)
        parsed.append(row)
        problems.extend(row_problems)
    return parsed, problems


def parse_row(source: SourceRow) -> tuple[ImportRow, list[Problem]]:
    row = ImportRow(line=source.line)
    problems: list[Problem] = []

    def problem(column: str, message: str) -> None:
        problems.append(Problem(source.line, column, message))

    for column, raw in source.cells.items():
        if not raw.strip() and column != "title":
            continue
        try:
            if column in _TEXT_FIELDS:
                name, clean = _TEXT_FIELDS[column]
                value = clean(raw)
                if value or column == "title":  # a cell of invisible characters only is empty too
                    row.fields[name] = value
                continue
            text = clean_characters(raw).strip()
            if column == "key":
                row.number = parse_key(text)
            elif column == "stage":
                row.stage = text
            elif column == "status":
                row.status = _status(text)
            elif column == "created":
                row.created = _date(text)
            elif column in OWNER_COLUMNS:
                row.owners[column] = _person(text)
        except InvalidInput as error:
            problem(column, str(error))
    return row, problems


def _status(text: str) -> str:
    status = text.lower()
    if status not in STATUSES:
        raise InvalidInput(f"'{text[:40]}' is not a status; use one of {', '.join(STATUSES)}.")
    return status


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise InvalidInput(f"'{text[:40]}' is not a date; write it as YYYY-MM-DD, like 2026-03-31.") from None


def _person(text: str) -> Person:
    mention = _MENTION.match(text)
    if mention:
        return Person(user_id=mention.group(1))
    if USER_ID_PATTERN.match(text):
        return Person(user_id=text)
    if _EMAIL.match(text):
        return Person(email=text.lower())
    raise InvalidInput(f"'{text[:40]}' is neither a Slack user id (like U012AB3CD) nor an e-mail address.")
