"""`initiative-bot questionnaire export [FILE] | import FILE [--dry-run]` and the same for `controls`: the
classification questionnaire and the controls catalog as code, like the gates (`initiative-bot gates`): the same
YAML reading, FILE:LINE errors and versions. `initiative-bot compliance report`: initiatives x controls."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.cli.common import add_team_option, cli_operator, open_runtime, workspace_to_act_on
from bot.cli.gates import DryRun, print_problems, read_file, write_out

# command, which is also its regulation_document kind -> (what it is, its JSON Schema)
FILES = {
    "questionnaire": ("the risk classification questionnaire", "bot/services/regulation/questionnaire_schema.json"),
    "controls": ("the controls catalog (not reviewed by counsel)", "bot/services/regulation/controls_schema.json"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    register_compliance(subparsers)
    for command, (what, _schema) in FILES.items():
        parser = subparsers.add_parser(command, help=f"{what} as YAML: export, import")
        actions = parser.add_subparsers(dest=f"{command}_command", metavar="ACTION", required=True)
        export = actions.add_parser("export", help=f"write {what} as YAML (stdout without FILE)")
        export.add_argument("file", nargs="?", metavar="FILE")
        export.add_argument("--version", type=int, metavar="N", help="an older version instead of the newest")
        add_team_option(export)
        export.set_defaults(func=run_export, command_name=command)
        load = actions.add_parser("import", help="validate a YAML file and save it as the next version, all or "
                                                 "nothing")
        load.add_argument("file", metavar="FILE")
        load.add_argument("--dry-run", action="store_true", help="check and show the changes; save nothing")
        load.add_argument("--comment", default="", help="a note kept with the new version")
        add_team_option(load)
        load.set_defaults(func=run_import, command_name=command)


def run_export(args: argparse.Namespace) -> int:
    from bot.services.gates.service import dump_gates_yaml
    from bot.services.regulation.service import document_row

    kind, (what, schema) = args.command_name, FILES[args.command_name]
    runtime = open_runtime()
    team_id = workspace_to_act_on(runtime, args.team)
    with runtime.transaction() as session:  # the first use stores the shipped file as version 1
        row = document_row(session, team_id=team_id, kind=kind, version=args.version)
        header = (f"{what[0].upper()}{what[1:]} of workspace {team_id}, version {row.version}.\n"
                  f"A screening aid, not legal advice. Edit, then apply with: initiative-bot {args.command_name} "
                  f"import FILE [--dry-run]\nFormat: docs/regulation.md (JSON Schema: {schema})")
        text = dump_gates_yaml(row.document, header=header)
    write_out(text, args.file, done=f"wrote version {row.version} to {args.file}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from bot.services.gates.service import InvalidGatesFile, describe
    from bot.services.regulation.service import (
        document_row,
        parse_controls_yaml,
        parse_questionnaire_yaml,
        save_document,
    )

    kind = args.command_name
    parse: Callable[..., dict[str, Any]] = parse_questionnaire_yaml if kind == "questionnaire" else parse_controls_yaml
    runtime = open_runtime()
    try:
        document = parse(read_file(args.file), filename=args.file)
    except InvalidGatesFile as exc:
        return print_problems(exc, args.file)
    team_id = workspace_to_act_on(runtime, args.team)
    try:
        with runtime.transaction() as session:
            version = document_row(session, team_id=team_id, kind=kind).version
            saved = save_document(session, actor=cli_operator(team_id), kind=kind, document=document,
                                  based_on=version, comment=args.comment or f"imported from {Path(args.file).name}")
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
    print(f"Saved {args.command_name} version {new_version} (was {version}).")
    return 0


def register_compliance(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("compliance", help="the compliance report: initiatives x applicable controls")
    actions = parser.add_subparsers(dest="compliance_command", metavar="ACTION", required=True)
    report = actions.add_parser("report", help="each control met, waived, open or not applicable, per initiative, "
                                               "with a summary by tier and framework (stdout without FILE)")
    report.add_argument("file", nargs="?", metavar="FILE")
    report.add_argument("--framework", metavar="F", help="only this framework's controls (EU-AI-ACT, NIST-AI-RMF, "
                                                         "ISO-42001, ...)")
    report.add_argument("--tier", metavar="T", choices=("prohibited", "high", "limited", "minimal", "needs-review",
                                                        "unclassified"),
                        help="only initiatives of this derived tier")
    report.add_argument("--format", default="md", choices=("md", "csv", "json"), help="default: md")
    add_team_option(report)
    report.set_defaults(func=run_compliance_report)


def run_compliance_report(args: argparse.Namespace) -> int:
    from bot.services.access.service import Audience
    from bot.services.errors import InvalidInput
    from bot.services.regulation.service import build_report, controls_for, initiatives_for_report, render
    from storage.types import utcnow

    runtime = open_runtime()
    team_id = workspace_to_act_on(runtime, args.team)
    with runtime.transaction() as session:  # the first use stores the shipped catalog as version 1
        catalog = controls_for(session, team_id=team_id)
        if args.framework and args.framework not in catalog.frameworks:
            raise InvalidInput(f"--framework {args.framework} is not in the controls catalog; use one of "
                               f"{', '.join(catalog.frameworks)}.")
        report = build_report(session, catalog=catalog, today=utcnow().date(), framework=args.framework,
                              initiatives=initiatives_for_report(session, audience=Audience.admin(team_id=team_id),
                                                                 tier=args.tier))
    done = f"wrote the compliance report ({len(report.rows)} initiatives, {len(report.controls)} controls) to " \
           f"{args.file}"
    write_out(render(report, args.format), args.file, done=done)
    return 0
