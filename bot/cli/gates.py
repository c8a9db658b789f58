"""`initiative-bot gates export [FILE] | import FILE [--dry-run] | diff [V1] [V2]`: gates as code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import add_team_option, cli_operator, open_runtime, workspace_to_act_on
from bot.services.errors import InvalidInput

if TYPE_CHECKING:
    from bot.services.gates.service import InvalidGatesFile
from bot.views.text import plain_date


class DryRun(Exception):
    """Unwinds the transaction of a dry run, so that nothing it did is committed."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gates", help="gate definitions as YAML: export, import, diff versions")
    actions = parser.add_subparsers(dest="gates_command", metavar="ACTION", required=True)

    export = actions.add_parser("export", help="write the current gate definitions as YAML (stdout without FILE)")
    export.add_argument("file", nargs="?", metavar="FILE")
    export.add_argument("--version", type=int, metavar="N", help="an older version instead of the newest")
    add_team_option(export)
    export.set_defaults(func=run_export)

    load = actions.add_parser("import", help="validate a YAML file and save it as the next version, all or nothing")
    load.add_argument("file", metavar="FILE")
    load.add_argument("--dry-run", action="store_true", help="check and show the changes; save nothing")
    load.add_argument("--move", action="append", default=[], metavar="OLD=NEW",
                      help="move the initiatives of a removed stage OLD to stage NEW (repeatable)")
    load.add_argument("--comment", default="", help="a note kept with the new version")
    add_team_option(load)
    load.set_defaults(func=run_import)

    diff = actions.add_parser("diff", help="what changed between two versions (default: the last change)")
    diff.add_argument("v1", nargs="?", type=int, metavar="V1")
    diff.add_argument("v2", nargs="?", type=int, metavar="V2", help="default: the newest version")
    add_team_option(diff)
    diff.set_defaults(func=run_diff)


def run_export(args: argparse.Namespace) -> int:
    from bot.services.gates.service import definition_row, dump_gates_yaml

    runtime = open_runtime()
    team_id = workspace_to_act_on(runtime, args.team)
    with runtime.transaction() as session:
        row = definition_row(session, team_id=team_id, version=args.version)
        header = (f"Gate definitions of workspace {team_id}, version {row.version}.\n"
                  f"Edit, then apply with: initiative-bot gates import FILE [--dry-run]\n"
                  f"Format: docs/gates.md (JSON Schema: bot/services/gates/gates_schema.json)")
        text = dump_gates_yaml(row.definition, header=header)
    write_out(text, args.file, done=f"wrote version {row.version} to {args.file}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from bot.services.gate_editing.service import current_document, save_definition
    from bot.services.gates.service import InvalidGatesFile, describe, parse_gates_yaml
    from bot.services.regulation.service import controls_for, unknown_controls

    runtime = open_runtime()
    text = read_file(args.file)
    team_id = workspace_to_act_on(runtime, args.team)
    with runtime.transaction() as session:  # checklist items name controls from the workspace's catalog
        catalog = controls_for(session, team_id=team_id)
    try:
        document = parse_gates_yaml(text, filename=args.file, also=lambda doc: unknown_controls(doc, catalog))
    except InvalidGatesFile as exc:
        return print_problems(exc, args.file)
    moves = dict(_move(text) for text in args.move)
    try:
        with runtime.transaction() as session:
            version, _ = current_document(session, team_id=team_id)
            saved = save_definition(session, actor=cli_operator(team_id), document=document, based_on=version,
                                    comment=args.comment or f"imported from {Path(args.file).name}", move_to=moves)
            if saved is None:
                print(f"No changes: {args.file} matches version {version}.")
                return 0
            for change in saved.changes:
                print(describe(change))
            for key, stage in saved.moved.items():
                print(f"> {key} moves to {stage}")
            if args.dry_run:
                raise DryRun
    except DryRun:
        print(f"Dry run: {args.file} is valid; {len(saved.changes)} change(s) would make version {saved.version}. "
              f"Nothing was applied.")
        return 0
    print(f"Saved version {saved.version} (was {saved.previous}).")
    return 0


def run_diff(args: argparse.Namespace) -> int:
    from bot.services.gates.service import definition_row, describe, differences

    runtime = open_runtime()
    team_id = workspace_to_act_on(runtime, args.team)
    with runtime.transaction() as session:
        newest = definition_row(session, team_id=team_id).version
        v2 = args.v2 or newest
        v1 = args.v1 if args.v1 is not None else max(v2 - 1, 1)
        old = definition_row(session, team_id=team_id, version=v1)
        new = definition_row(session, team_id=team_id, version=v2)
        changes = differences(old.definition, new.definition)
    if not changes:
        print(f"No differences between version {v1} and version {v2}.")
        return 0
    print(f"From version {v1} ({old.created_by}, {plain_date(old.created_at)}) "
          f"to version {v2} ({new.created_by}, {plain_date(new.created_at)}):")
    for change in changes:
        print(describe(change))
    return 0


def write_out(text: str, file: str | None, *, done: str) -> None:
    """`text` into FILE (saying `done` on stderr), or onto stdout without one."""
    if file:
        Path(file).write_text(text, encoding="utf-8")
        print(done, file=sys.stderr)
    else:
        sys.stdout.write(text)


def print_problems(exc: InvalidGatesFile, file: str) -> int:
    """Every problem of an admin-owned YAML file as FILE:LINE, then that nothing was applied; the exit code."""
    for line in exc.lines:
        print(line, file=sys.stderr)
    print(f"initiative-bot: {file} has {len(exc.lines)} problem(s); nothing was applied", file=sys.stderr)
    return 1


def read_file(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a UTF-8 text file"
        raise InvalidInput(f"Cannot read {file}: {reason}.") from None


def _move(text: str) -> tuple[str, str]:
    old, sep, new = text.partition("=")
    if not sep or not old.strip() or not new.strip():
        raise InvalidInput(f"--move takes OLD=NEW stage ids, like --move pilot=production; got '{text}'.")
    return old.strip(), new.strip()
