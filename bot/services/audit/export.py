"""Export of the audit trail as CSV or JSON Lines, streamed in constant memory whatever its length."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

from sqlalchemy import ColumnElement, Connection, or_, select
from sqlmodel import col

from bot.services.audit.export_formats import FORMATS
from bot.services.audit.identity import Directory, load_directory
from bot.services.errors import InvalidInput
from storage.models import AuditEvent, Initiative

EXPORT_FIELDS = ("seq", "event_id", "time", "actor_id", "actor_name", "action", "subject_type", "subject",
                 "initiative", "before", "after", "definition_version", "hash")
STREAM_BATCH = 2000


@dataclass(frozen=True)
class ExportFilter:
    team_id: str
    since: date | None = None  # from the start of this UTC day
    until: date | None = None  # to the end of this UTC day
    initiative_id: int | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise InvalidInput("--since is after --until; give the earlier date first.")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def export_rows(connection: Connection, selection: ExportFilter, *,
                visible: ColumnElement[bool]) -> Iterator[dict[str, Any]]:
    """The selected events in chain order, one dict per event, fetched in batches through a server-side cursor.

    `visible`: the condition on `initiative` rows that decides who may see an initiative
    (`bot.services.access.visibility.visible_to`, which this domain sits below); events about an initiative the
    reader may not see are left out, events about no initiative stay."""
    directory = load_directory(connection, team_id=selection.team_id)
    query = (
        select(AuditEvent.seq, AuditEvent.id, AuditEvent.at, AuditEvent.actor, AuditEvent.action,
               AuditEvent.subject_type, AuditEvent.subject_key, Initiative.number, AuditEvent.before,
               AuditEvent.after, AuditEvent.definition_version, AuditEvent.hash)
        .outerjoin(Initiative, col(Initiative.id) == AuditEvent.initiative_id)
        .where(AuditEvent.team_id == selection.team_id, or_(col(AuditEvent.initiative_id).is_(None), visible))
        .order_by(col(AuditEvent.seq))
    )
    if selection.since:
        query = query.where(col(AuditEvent.at) >= _start_of(selection.since))
    if selection.until:
        query = query.where(col(AuditEvent.at) < _start_of(selection.until + timedelta(days=1)))
    if selection.initiative_id is not None:
        query = query.where(AuditEvent.initiative_id == selection.initiative_id)
    result = connection.execution_options(stream_results=True, yield_per=STREAM_BATCH).execute(query)
    for row in result:
        yield _export_row(row, directory)


def _export_row(row: Any, directory: Directory) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "event_id": row.id,
        "time": row.at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "actor_id": row.actor,
        "actor_name": directory.name(row.actor, row.at),
        "action": row.action,
        "subject_type": row.subject_type,
        "subject": row.subject_key,
        "initiative": f"AI-{row.number}" if row.number is not None else None,
        "before": row.before,
        "after": row.after,
        "definition_version": row.definition_version,
        "hash": row.hash,
    }


def write_export(rows: Iterator[dict[str, Any]], handle: IO[str], *, fmt: str) -> int:
    """Write rows as CSV (before/after as JSON text) or JSON Lines; returns how many were written."""
    if fmt not in FORMATS:
        raise InvalidInput(f"Unknown format '{fmt}'; use csv or jsonl.")
    count = 0
    if fmt == "csv":
        writer = csv.writer(handle)
        writer.writerow(EXPORT_FIELDS)
        for row in rows:
            row["before"], row["after"] = _json_cell(row["before"]), _json_cell(row["after"])
            writer.writerow([row[name] for name in EXPORT_FIELDS])
            count += 1
    else:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")
            count += 1
    return count


def _json_cell(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
