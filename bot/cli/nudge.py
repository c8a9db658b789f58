"""`initiative-bot nudge [--as-of ISO-8601] [--send]`: who would be nudged or escalated to now, and why; with
--send, run the sweep."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.cli.common import add_team_option, open_runtime, workspace_to_act_on
from bot.views.text import plain_date

if TYPE_CHECKING:
    from bot.jobs.nudges import SweepResult
    from bot.services.nudges.policy import Item, Notice


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "nudge", help="show who would be nudged or escalated to now, and why; --send runs the sweep",
        description="Evaluates the nudge policy (business days, 09:00-17:00 in each person's zone, snoozes, "
        "delegations, SLA escalations) and prints the DMs a sweep would send. Nothing is sent without --send.")
    parser.add_argument("--as-of", type=_moment, metavar="ISO-8601",
                        help="evaluate at this moment instead of now, e.g. 2026-12-01T09:30:00+01:00 "
                        "(without an offset, UTC)")
    parser.add_argument("--send", action="store_true", help="run the sweep: write the DMs to the outbox")
    add_team_option(parser)
    parser.set_defaults(func=run_nudge)


def run_nudge(args: argparse.Namespace) -> int:
    from bot.delivery.sender import deliver_pending, make_client
    from bot.jobs.nudges import run_sweep

    runtime = open_runtime()
    team_id = workspace_to_act_on(runtime, args.team)
    settings = runtime.settings
    client = make_client(settings) if args.send and settings.slack_bot_token else None
    result = run_sweep(runtime, now=args.as_of, send=args.send, client=client, team_id=team_id)
    print("\n".join(describe(result, sent=args.send)))
    if args.send and client is not None and result.written:
        report = deliver_pending(runtime, client, limit=10_000)
        print(f"delivered now: {report.sent} sent, {report.failed} failed, "
              f"{report.retrying + report.rate_limited} retrying later")
    elif args.send and result.written:
        print("SLACK_BOT_TOKEN is not set here: the running bot delivers them.")
    runtime.engine.dispose()
    return 0


def describe(result: SweepResult, *, sent: bool) -> list[str]:
    """The dry run's report: one paragraph per DM, then who is held back and why."""
    mode = "sweep" if sent else "dry run: nothing is sent; add --send to send"
    lines = [f"Nudges as of {plain_date(result.now)} ({mode})"]
    if not result.leased:
        return [*lines, "Another replica is running the sweep right now; nothing was done here."]
    for team in result.teams:
        notices = team.written if sent else team.plan.notices
        for notice in notices:
            lines.append(_headline(notice))
            lines.extend(f"    {_item_line(item)}" for item in notice.items)
        for notice in team.already_sent:
            lines.append(f"  {notice.kind} → {notice.recipient}: already sent today by another replica")
        for held in team.plan.held:
            lines.append(f"  held: {held.kind} → {held.recipient}: {held.reason}")
        if not notices and not team.plan.held:
            lines.append(f"  {team.team_id}: nobody is due a nudge or an escalation")
    if sent:
        lines.append(f"{result.written} DM(s) written to the outbox.")
    return lines


def _headline(notice: Notice) -> str:
    return f"  {notice.kind} → {notice.recipient} (their {notice.local_date:%a %Y-%m-%d}): {notice.reason}"


def _item_line(item: Item) -> str:
    p = item.pending
    status = "OVERDUE" if item.overdue else ("reminder due" if item.due else "listed")
    behalf = f", for {item.on_behalf_of}" if item.on_behalf_of else ""
    return (f"{p.initiative_key} {p.gate_name} · {p.role_name} ({p.assignee}{behalf}): pending "
            f"{item.business_days} business day(s), SLA {plain_date(item.deadline.astimezone(UTC))} · {status}")


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an ISO-8601 time; write e.g. 2026-12-01T09:30:00+01:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

