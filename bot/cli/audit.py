"""`initiative-bot audit verify|export|record|pseudonymise`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO

from bot.cli.common import add_team_option, open_runtime, workspace_to_act_on
from bot.services.audit.export_formats import FORMATS
from bot.services.errors import InvalidInput


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("audit", help="the tamper-evident audit trail: verify, export, decision records")
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    verify = actions.add_parser("verify", help="check the hash chain; exits 1 at the first broken link (the outcome "
                                "is kept in the database, for /metrics)")
    add_team_option(verify)
    verify.set_defaults(func=run_verify)

    export = actions.add_parser("export", help="write the trail as CSV or JSON Lines (streamed)")
    add_team_option(export)
    export.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="from the start of this UTC day")
    export.add_argument("--until", type=_date, metavar="YYYY-MM-DD", help="to the end of this UTC day")
    export.add_argument("--initiative", metavar="KEY", help="only events about this initiative (AI-12)")
    export.add_argument("--format", choices=FORMATS, required=True)
    export.add_argument("file", nargs="?", help="output file (default: standard output)")
    export.set_defaults(func=run_export)

    record = actions.add_parser("record", help="one initiative's decision record: gates, sign-offs, evidence")
    add_team_option(record)
    record.add_argument("key", metavar="KEY", help="the initiative, e.g. AI-12")
    record.add_argument("--format", choices=("md", "json"), default="md")
    record.set_defaults(func=run_record)

    erase = actions.add_parser("pseudonymise", help="replace a person's Slack ID and names with a stable pseudonym")
    add_team_option(erase)
    erase.add_argument("user", metavar="USER", help="the person's Slack user ID, e.g. U012ABCDEF")
    erase.set_defaults(func=run_pseudonymise)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date; write it as YYYY-MM-DD") from None


def run_verify(args: argparse.Namespace) -> int:
    from bot.services.audit.service import verify_chain
    from storage.models import AuditVerification

    runtime = open_runtime()
    team_id = workspace_to_act_on(runtime, args.team)
    with runtime.engine.connect() as connection:
        report = verify_chain(connection, team_id=team_id, processes=os.cpu_count() or 1)
    with runtime.transaction() as session:
        session.add(AuditVerification(team_id=team_id, ok=report.ok, checked=report.checked,
                                      problem=None if report.ok else report.describe()))
    print(report.describe(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


def run_export(args: argparse.Namespace) -> int:
    from bot.services.access.service import Audience, visible_to
    from bot.services.audit.service import ExportFilter, export_rows, write_export
    from bot.services.initiatives.service import get_initiative

    runtime = open_runtime()
    reader = Audience.admin(team_id=workspace_to_act_on(runtime, args.team))  # the CLI acts as an admin
    with runtime.transaction() as session:
        initiative_id = get_initiative(session, audience=reader, key=args.initiative).id if args.initiative else None
    selection = ExportFilter(team_id=reader.team_id, since=args.since, until=args.until, initiative_id=initiative_id)
    with _output(args.file) as handle, runtime.engine.connect() as connection:
        count = write_export(export_rows(connection, selection, visible=visible_to(reader)), handle, fmt=args.format)
    if args.file:
        print(f"wrote {count} event{'' if count == 1 else 's'} to {args.file}", file=sys.stderr)
    return 0


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    """Standard output, or a file that appears only once complete (written aside, then renamed)."""
    if path is None:
        yield sys.stdout
        return
    partial = Path(f"{path}.partial")
    try:
        handle = partial.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise InvalidInput(f"Cannot write {path}: {exc.strerror}; pick a writable path.") from None
    try:
        with handle:
            yield handle
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def run_record(args: argparse.Namespace) -> int:
    from bot.services.access.service import Audience
    from bot.services.reviews.service import build_decision_record, load_snapshot, render_markdown

    runtime = open_runtime()
    reader = Audience.admin(team_id=workspace_to_act_on(runtime, args.team))  # the CLI acts as an admin
    with runtime.transaction() as session:
        record = build_decision_record(load_snapshot(session, audience=reader, key=args.key))
    sys.stdout.write(render_markdown(record) if args.format == "md"
                     else json.dumps(record.as_json(), indent=2, ensure_ascii=False) + "\n")
    return 0


def run_pseudonymise(args: argparse.Namespace) -> int:
    from bot.services.audit.service import pseudonymise, record_audit
    from bot.services.gates.service import SYSTEM_ACTOR

    runtime = open_runtime()
    team_id = workspace_to_act_on(runtime, args.team)
    with runtime.transaction() as session:
        done = pseudonymise(session, team_id=team_id, user_id=args.user)
        record_audit(session, team_id=team_id, actor=SYSTEM_ACTOR, action="identity.pseudonymised",
                     subject_type="identity", subject_key=done.pseudonym, after={"rows_rewritten": done.changed})
    total = sum(done.changed.values())
    print(f"{args.user} is now {done.pseudonym}: {total} rows rewritten, display names erased "
          f"({', '.join(f'{name} {count}' for name, count in sorted(done.changed.items())) or 'nothing else'}).")
    return 0
