"""`initiative-bot webhooks add URL [EVENT…] | list | remove NUMBER|URL`: the same as `/initiative webhooks`."""

from __future__ import annotations

import argparse

from bot.cli.common import add_team_option, cli_operator, open_runtime, workspace_to_act_on
from bot.services.webhooks.event_types import EVENT_TYPES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("webhooks", help="signed outbound webhooks: add, list, remove receivers")
    actions = parser.add_subparsers(dest="webhooks_command", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="register a receiver; prints its signing secret once")
    add.add_argument("url", metavar="URL")
    add.add_argument("events", nargs="*", metavar="EVENT", help=f"any of {', '.join(EVENT_TYPES)} (default: all)")
    add_team_option(add)
    add.set_defaults(func=run_add)

    listing = actions.add_parser("list", help="registered receivers, their events and health")
    add_team_option(listing)
    listing.set_defaults(func=run_list)

    remove = actions.add_parser("remove", help="remove a receiver by its number or URL")
    remove.add_argument("ref", metavar="NUMBER|URL")
    add_team_option(remove)
    remove.set_defaults(func=run_remove)


def run_add(args: argparse.Namespace) -> int:
    from bot.services.webhooks.service import add_endpoint
    from bot.views.webhooks import registered_text

    runtime = open_runtime()
    actor = cli_operator(workspace_to_act_on(runtime, args.team))
    with runtime.transaction() as session:
        registered = add_endpoint(session, actor=actor, settings=runtime.settings, url=args.url, events=args.events)
        print(registered_text(registered.endpoint, registered.secret))
    return 0


def run_list(args: argparse.Namespace) -> int:
    from bot.services.webhooks.service import list_endpoints
    from bot.views.webhooks import endpoint_lines

    runtime = open_runtime()
    actor = cli_operator(workspace_to_act_on(runtime, args.team))
    with runtime.transaction() as session:
        print(endpoint_lines(list_endpoints(session, actor=actor)))
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from bot.services.webhooks.service import remove_endpoint
    from bot.views.webhooks import removed_text

    runtime = open_runtime()
    actor = cli_operator(workspace_to_act_on(runtime, args.team))
    with runtime.transaction() as session:
        print(removed_text(remove_endpoint(session, actor=actor, ref=args.ref)))
    return 0
