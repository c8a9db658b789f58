"""`initiative-bot import FILE [--dry-run]` and `initiative-bot export [kpis] [--format csv|xlsx] [FILE]`: the
portfolio as a spreadsheet, or every KPI actual recorded (docs/import-export.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import add_team_option, cli_operator, open_runtime, workspace_to_act_on
from bot.services.errors import InvalidInput

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services.portfolio_io.service import ImportPlan, LookupPerson, Problem

# slack_sdk retries a call Slack answered 429 after its Retry-After, this many times: users.lookupByEmail allows
# about 50 calls a minute, so an import naming more addresses waits for the next minute instead of failing.
LOOKUP_RETRIES = 10


class _Rollback(Exception):
    """Unwinds the import's transaction: a dry run, or a file with problems, writes nothing."""


class SlackRefused(Exception):
    """Slack refused the look-up for a reason that is not the person's (a missing scope, a revoked token)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    load = subparsers.add_parser(
        "import", help="add or update initiatives from a .csv or .xlsx file, all or nothing",
        description="One row per initiative, columns named in the first line (docs/import-export.md). Every row is "
        "checked first; with any problem, each is printed as FILE:LINE: column: what is wrong, and nothing is "
        "written. Rows matching an initiative by key or title update it; importing a file twice changes nothing.")
    load.add_argument("file", metavar="FILE", help="a .csv (UTF-8, comma or semicolon) or .xlsx file")
    load.add_argument("--dry-run", action="store_true", help="check and show what would change; write nothing")
    add_team_option(load)
    load.set_defaults(func=run_import)

    export = subparsers.add_parser(
        "export", help="write every initiative as CSV or XLSX, in the columns `import` reads; `export kpis`: every "
        "KPI actual recorded, with who recorded it and when")
    export.add_argument("what", nargs="*", metavar="[kpis] [FILE]",
                        help="`kpis` for the KPI actuals; FILE to write (default: CSV on standard output)")
    export.add_argument("--format", choices=("csv", "xlsx"), help="default: FILE's extension, else csv")
    add_team_option(export)
    export.set_defaults(func=run_export)


def run_import(args: argparse.Namespace) -> int:
    from bot.services.gates.service import ensure_workspace
    from bot.services.portfolio_io.service import (
        ImportFileError,
        apply_import,
        email_addresses,
        parse_rows,
        plan_import,
        read_table,
        resolve_people,
        user_ids,
    )

    filename = args.file
    try:
        table = read_table(filename, _read(filename))
    except ImportFileError as exc:
        return _refuse(filename, list(exc.problems))
    rows, problems = parse_rows(table.rows)
    runtime = open_runtime()
    team_id = workspace_to_act_on(runtime, args.team, create=False)  # created below, with the import or never
    settings = runtime.settings
    named = email_addresses(rows) or user_ids(rows)
    lookup = slack_lookup(settings) if named and settings.slack_bot_token else None
    try:
        people = resolve_people(rows, lookup)  # outside the transaction: Slack may make it wait a minute
    except SlackRefused as exc:
        print(f"initiative-bot: {exc}", file=sys.stderr)
        return 1
    try:
        with runtime.transaction() as session:
            ensure_workspace(session, team_id=team_id)
            plan = plan_import(session, team_id=team_id, rows=rows, people=people)
            problems += plan.problems
            if problems:
                raise _Rollback
            if args.dry_run:
                print("\n".join(planned_lines(plan)))
                raise _Rollback
            result = apply_import(session, actor=cli_operator(team_id), plan=plan, source=Path(filename).name)
    except _Rollback:
        if problems:
            return _refuse(filename, problems)
        print(f"Dry run: {len(plan.creates)} to create, {len(plan.updates)} to update, {plan.unchanged} unchanged. "
              f"Nothing was written.")
        return 0
    for initiative in result.created:
        print(f"created {initiative.key} {initiative.title!r} in {initiative.stage}")
    for change in result.updated:
        print(f"updated {change.initiative.key} {change.initiative.title!r}: {', '.join(change.changed)}")
    if not result.created and not result.updated:
        print(f"No changes: all {result.unchanged} row(s) of {filename} match their initiatives already.")
    else:
        print(f"Imported {filename}: {len(result.created)} created, {len(result.updated)} updated, "
              f"{result.unchanged} unchanged.")
    return 0


def planned_lines(plan: ImportPlan) -> list[str]:
    lines = [f"would create {new.fields['title']!r} in {new.stage} (line {new.line})" for new in plan.creates]
    lines += [f"would update {change.initiative.key} {change.initiative.title!r}: {', '.join(change.changed)} "
              f"(line {change.line})" for change in plan.updates]
    return lines


def _refuse(filename: str, problems: list[Problem]) -> int:
    for problem in sorted(problems, key=lambda p: p.line):
        print(problem.describe(filename), file=sys.stderr)
    print(f"initiative-bot: {filename} has {len(problems)} problem(s); nothing was imported", file=sys.stderr)
    return 1


def slack_lookup(settings: Settings) -> LookupPerson:
    """users.lookupByEmail (an address) or users.info (a user id) through a client that waits out Slack's
    Retry-After (slack_sdk's own retry handler); each person found is judged as an owner as Slack commands judge
    them (a guest unless ALLOW_GUEST_OWNERS, someone from another organisation)."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    from bot.services.access.service import why_not_an_owner
    from bot.services.portfolio_io.service import SlackPerson

    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=LOOKUP_RETRIES)])

    def lookup(who: str) -> SlackPerson | None:
        by_address = "@" in who
        method = "users.lookupByEmail" if by_address else "users.info"
        try:
            user = (client.users_lookupByEmail(email=who) if by_address else client.users_info(user=who))["user"]
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in ("users_not_found", "user_not_found"):
                return None
            scope = "users:read.email" if by_address else "users:read"
            hint = f" (the app needs the {scope} scope: reinstall it)" if error == "missing_scope" else ""
            raise SlackRefused(f"Slack refused {method}: {error}{hint}; nothing was imported") from None
        return SlackPerson(user_id=user["id"], deactivated=bool(user.get("deleted")),
                           cannot_own=why_not_an_owner(user, allow_guests=settings.allow_guest_owners))

    return lookup


def run_export(args: argparse.Namespace) -> int:
    from bot.services.access.service import Audience
    from bot.services.portfolio_io.service import (
        COLUMN_NAMES,
        KPI_ACTUAL_COLUMNS,
        export_kpi_rows,
        export_rows,
        write_csv,
        write_xlsx,
    )

    what = list(args.what)
    kpis = bool(what) and what[0] == "kpis"
    if kpis:
        what.pop(0)
    if len(what) > 1:
        raise InvalidInput(f"Give one FILE to write, not {len(what)}: `export [kpis] [FILE]`.")
    file = what[0] if what else None
    chosen = args.format or (Path(file).suffix.lower().lstrip(".") if file else "csv")
    if chosen not in ("csv", "xlsx"):
        raise InvalidInput(f"Cannot tell the format of {file}; name it .csv or .xlsx, or pass --format.")
    if chosen == "xlsx" and not file:
        raise InvalidInput("An .xlsx export needs a FILE to write to.")
    runtime = open_runtime()
    team_id = workspace_to_act_on(runtime, args.team)
    with runtime.read() as session:
        audience = Audience.admin(team_id=team_id)
        rows = export_kpi_rows(session, audience=audience) if kpis else export_rows(session, audience=audience)
    data = (write_xlsx if chosen == "xlsx" else write_csv)(KPI_ACTUAL_COLUMNS if kpis else COLUMN_NAMES, rows)
    if file:
        Path(file).write_bytes(data)
        print(f"wrote {len(rows)} {'KPI actual' if kpis else 'initiative'}(s) to {file}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _read(file: str) -> bytes:
    try:
        return Path(file).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read {file}: {exc.strerror or exc}.") from None
