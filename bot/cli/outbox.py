"""`initiative-bot outbox [--failed]`: what the bot sent to Slack, what waits, and what Slack refused."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.common import add_team_option, open_runtime
from bot.views.text import plain_date

if TYPE_CHECKING:
    from storage.models.outbox import OutboxMessage


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("outbox", help="show Slack deliveries: pending, sent, and failed with why")
    parser.add_argument("--failed", action="store_true", help="only messages Slack refused for good")
    parser.add_argument("--limit", type=int, default=20, help="how many messages to list (default: 20)")
    add_team_option(parser, help="only this workspace's messages (default: every workspace's)")
    parser.set_defaults(func=run_outbox)


def run_outbox(args: argparse.Namespace) -> int:
    from bot.delivery.installation import describe_suspension, suspended
    from bot.delivery.outbox import failed_messages, recent_messages, state_counts

    runtime = open_runtime()
    with runtime.transaction() as session:
        counts = state_counts(session, team_id=args.team)
        waiting = [w for team, w in sorted(suspended(session).items()) if args.team in (None, team)]
        if args.failed:
            messages = failed_messages(session, team_id=args.team, limit=args.limit)
        else:
            messages = recent_messages(session, team_id=args.team, limit=args.limit)
    print(f"pending: {counts['pending']}  sent: {counts['sent']}  failed: {counts['failed']}")
    for workspace in waiting:  # said once per workspace, not on each of its messages
        print(f"{workspace.team_id}: pending messages {describe_suspension(workspace)}. Reinstall the app (and, if "
              "the token changed, write the new one to SLACK_BOT_TOKEN_FILE, or set SLACK_BOT_TOKEN and restart the "
              "bot); delivery resumes once auth.test succeeds (checked every 5 minutes).")
    if not messages:
        print("no failed deliveries" if args.failed else "the outbox is empty")
    for message in messages:
        print(_line(message))
    return 0


def _line(message: OutboxMessage) -> str:
    from bot.delivery.installation import WAITING_FOR_REINSTALL
    from bot.delivery.outbox import describe_error

    target = message.payload.get("channel") or message.payload.get("user_id") or ""
    when = plain_date(message.failed_at or message.sent_at or message.created_at)
    line = f"#{message.id} {message.state:<7} {when} {message.team_id} {message.method} {target}".rstrip()
    if message.state == "failed":
        line += f": {describe_error(message.last_error)}"
    elif message.state == "pending" and message.last_error and not message.last_error.startswith(
            WAITING_FOR_REINSTALL):
        line += f" (retrying: {message.last_error}; attempt {message.attempts + 1})"
    return line
