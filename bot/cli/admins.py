"""`initiative-bot admins add|remove|list`: the same as `/initiative admins`, and the way to name the first admin
before Slack's first request (or without ADMIN_USER_IDS). Audited, like every change of admins."""

from __future__ import annotations

import argparse

from bot.cli.common import add_team_option, cli_operator, open_runtime, workspace_to_act_on


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("admins", help="who administers the bot: add, remove, list")
    actions = parser.add_subparsers(dest="admins_command", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="make a Slack user an admin of the bot in this workspace")
    add.add_argument("user", metavar="U…", help="their Slack user ID (profile → ⋮ → Copy member ID)")
    add_team_option(add)
    add.set_defaults(func=run_change, adding=True)

    remove = actions.add_parser("remove", help="take back an admin right given with `admins add`")
    remove.add_argument("user", metavar="U…")
    add_team_option(remove)
    remove.set_defaults(func=run_change, adding=False)

    listing = actions.add_parser("list", help="the admins, and where each one's right comes from")
    add_team_option(listing)
    listing.set_defaults(func=run_list)


def run_change(args: argparse.Namespace) -> int:
    from bot.services.access.service import add_admin, remove_admin

    runtime = open_runtime()
    actor = cli_operator(workspace_to_act_on(runtime, args.team))
    with runtime.transaction() as session:
        if args.adding:
            add_admin(session, actor=actor, user_id=args.user)
        else:
            remove_admin(session, actor=actor, user_id=args.user, admin_user_ids=runtime.settings.admin_user_ids)
    print(f"{args.user} is {'now' if args.adding else 'no longer'} an admin of workspace {actor.team_id}.")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from bot.services.access.service import list_admins
    from bot.views.admins import admins_text

    runtime = open_runtime()
    team_id = workspace_to_act_on(runtime, args.team)
    with runtime.read() as session:
        entries = list_admins(session, team_id=team_id, admin_user_ids=runtime.settings.admin_user_ids)
    print(admins_text(entries, slack_admins_are_admins=runtime.settings.slack_admins_are_admins, slack=False))
    return 0
