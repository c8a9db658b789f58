"""Importing a file's bytes as the CLI does, in one transaction, against the test database."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import col, select

from bot.services.portfolio_io.importing import (
    ImportPlan,
    ImportResult,
    LookupPerson,
    apply_import,
    plan_import,
    resolve_people,
)
from bot.services.portfolio_io.rows import parse_rows
from bot.services.portfolio_io.table import ImportFileError, read_table
from storage.models import Initiative
from tests.support.factories import TEAM, actor

ADMIN = actor("UADMIN", admin=True)


@dataclass
class Outcome:
    problems: list[str] = field(default_factory=list)  # as the CLI prints them
    plan: ImportPlan | None = None
    result: ImportResult | None = None


def import_file(runtime, name: str, content: bytes | str, *, lookup: LookupPerson | None = None,
                dry_run: bool = False) -> Outcome:
    data = content.encode() if isinstance(content, str) else content
    try:
        table = read_table(name, data)
    except ImportFileError as exc:
        return Outcome(problems=[p.describe(name) for p in exc.problems])
    rows, problems = parse_rows(table.rows)
    people = resolve_people(rows, lookup)
    with runtime.transaction() as session:
        plan = plan_import(session, team_id=TEAM, rows=rows, people=people)
        problems += plan.problems
        if problems or dry_run:
            return Outcome(problems=[p.describe(name) for p in sorted(problems, key=lambda p: p.line)], plan=plan)
        return Outcome(plan=plan, result=apply_import(session, actor=ADMIN, plan=plan, source=name))


def initiatives(runtime) -> list[Initiative]:
    with runtime.read() as session:
        return list(session.exec(select(Initiative).order_by(col(Initiative.number))))
