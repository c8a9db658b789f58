"""`initiative-bot questionnaire export [FILE] | import FILE [--dry-run]`: the classification questionnaire as code,
like the gates (`initiative-bot gates`): the same YAML reading, FILE:LINE errors and versions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.common import add_team_option, cli_operator, open_runtime, workspace_to_act_on
from bot.cli.gates import DryRun, read_file


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("questionnaire", help="the risk classification questionnaire as YAML: export, "
                                                         "import")
    actions = parser.add_subparsers(dest="questionnaire_command", metavar="ACTION", required=True)

    export = actions.add_parser("export", help="write the current questionnaire as YAML (stdout without FILE)")
    export.add_argument("file", nargs="?", metavar="FILE")
    export.add_argument("--version", type=int, metavar="N", help="an older version instead of the newest")
    add_team_option(export)
    export.set_defaults(func=run_export)

    load = actions.add_parser("import", help="validate a YAML file and save it as the next version, all or nothing")
    load.add_argument("file", metavar="FILE")
    load.add_argument("--dry-run", action="store_true", help="check and show the changes; save nothing")
    load.add_argument("--comment", default="", help="a note kept with the new version")
    add_team_option(load)
    load.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    from bot.services.regulation.questionnaire import dump_questionnaire_yaml
    from bot.services.regulation.service import questionnaire_row

    runtime = open_runtime()
    team_id = workspace_to_act_on(runtime, args.team)
    with runtime.transaction() as session:  # the first use stores the shipped questionnaire as version 1
        row = questionnaire_row(session, team_id=team_id, version=args.version)
        header = (f"Risk classification questionnaire of workspace {team_id}, version {row.version}.\n"
                  f"A screening aid, not legal advice. Edit, then apply with: initiative-bot questionnaire import "
                  f"FILE [--dry-run]\nFormat: docs/regulation.md (JSON Schema: "
                  f"bot/services/regulation/questionnaire_schema.json)")
        text = dump_questionnaire_yaml(row.document, header=header)
    if args.file:
        Path(args.file).write_text(text, encoding="utf-8")
        print(f"wrote version {row.version} to {args.file}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from bot.services.gates.document import describe
    from bot.services.gates.yaml_file import InvalidGatesFile
    from bot.services.regulation.questionnaire import parse_questionnaire_yaml
    from bot.services.regulation.service import questionnaire_row, save_questionnaire

    runtime = open_runtime()
    try:
        document = parse_questionnaire_yaml(read_file(args.file), filename=args.file)
    except InvalidGatesFile as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        print(f"initiative-bot: {args.file} has {len(exc.lines)} problem(s); nothing was applied", file=sys.stderr)
        return 1
    team_id = workspace_to_act_on(runtime, args.team)
    try:
        with runtime.transaction() as session:
            version = questionnaire_row(session, team_id=team_id).version
            saved = save_questionnaire(session, actor=cli_operator(team_id), document=document, based_on=version,
                                       comment=args.comment or f"imported from {Path(args.file).name}")
            if saved is None:
                print(f"No changes: {args.file} matches version {version}.")
                return 0
            new_version, changes = saved
            for change in changes:
                print(describe(change))
            if args.dry_run:
                raise DryRun
    except DryRun:
        print(f"Dry run: {args.file} is valid; {len(changes)} change(s) would make version {new_version}. "
              "Nothing was applied.")
        return 0
    print(f"Saved questionnaire version {new_version} (was {version}).")
    return 0
