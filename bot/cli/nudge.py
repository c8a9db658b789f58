"""`initiative-bot nudge [--as-of ISO-8601] [--send]`: who would be nudged or escalated to now, and why; with
--send, run the sweep."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.cli.common import add_team_option, open_runtime, workspace_to_act_on
from bot.views.text import plain_date

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from bot.services.business_days import WorkCalendar
    from bot.services.nudges.scheduled import SweepResult
    from bot.services.nudges.service import Held, Item, ItemLine, Notice


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "nudge", help="show who would be nudged or escalated to now, and why; --send runs the sweep",
        description="Evaluates the nudge policy (business days, 09:00-17:00 in each person's zone, snoozes, "
        "delegations, SLA escalations) and prints the DMs a sweep would send, each person's times in their own "
        "zone. Nothing is sent or stored without --send; with SLACK_BOT_TOKEN set, both first read the same few "
        "unknown or stale zones from Slack (users.info).")
    parser.add_argument("--as-of", type=_moment, metavar="ISO-8601",
                        help="evaluate at this moment instead of now, e.g. 2026-12-01T09:30:00+01:00 "
                        "(without an offset, UTC)")
    parser.add_argument("--send", action="store_true", help="run the sweep: write the DMs to the outbox")
    add_team_option(parser)
    parser.set_defaults(func=run_nudge)


def run_nudge(args: argparse.Namespace) -> int:
    from bot.adapters.nudges import run_sweep
    from bot.delivery.sender import deliver_pending, make_client

    runtime = open_runtime()
    team_id = workspace_to_act_on(runtime, args.team)
    settings = runtime.settings
    # A dry run reads zones from Slack as --send does (without storing them), or it would judge people in the
    # wrong zone.
    client = make_client(settings) if settings.slack_bot_token else None
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
    lines = [f"Nudges as of {plain_date(result.now)} ({mode})", _zones_line(result, sent=sent)]
    if not result.leased:
        return [*lines, "Another replica is running the sweep right now; nothing was done here."]
    for team in result.teams:
        notices = team.written if sent else team.plan.notices
        for notice in notices:
            lines.append(_headline(notice, team.calendar, result.now))
            lines.extend(f"    {_item_line(item, notice.zone)}" for item in notice.items)
            lines.extend(f"    {_condition_line(line, notice.zone)}" for line in notice.lines)
            lines.extend(f"    {due.key} KPI actuals ({due.recipient}): due {due.due_on.isoformat()} · request due"
                         for due in notice.kpis)
        for notice in team.already_sent:
            lines.append(f"  {notice.kind} → {notice.recipient}: already sent today by another replica")
        for held in team.plan.held:
            lines.append(f"  held: {held.kind} → {held.recipient}: {_held_reason(held, team.calendar)}")
        if not notices and not team.plan.held:
            lines.append(f"  {team.team_id}: nobody is due a nudge or an escalation")
    if sent:
        lines.append(f"{result.written} DM(s) written to the outbox.")
    return lines


def _zones_line(result: SweepResult, *, sent: bool) -> str:
    if result.zones_read is None:
        return ("Time zones: SLACK_BOT_TOKEN is not set here, so only zones already stored are known; anyone else "
                "is judged in DEFAULT_TIMEZONE, as a sweep without Slack would.")
    stored = "stored" if sent else "used here, not stored (a dry run writes nothing)"
    return f"Time zones: {result.zones_read} read from Slack just now, {stored}."


def _headline(notice: Notice, calendar: WorkCalendar, now: datetime) -> str:
    when = _their_time(calendar, notice.recipient, notice.zone, now)
    return f"  {notice.kind} → {notice.recipient} (their time: {when}): {notice.reason}"


def _item_line(item: Item, reader_zone: ZoneInfo) -> str:
    p = item.pending
    status = "OVERDUE" if item.overdue else ("reminder due" if item.due else "listed")
    behalf = f", for {item.on_behalf_of}" if item.on_behalf_of else ""
    return (f"{p.initiative_key} {p.gate_name} · {p.role_name} ({p.assignee}{behalf}): pending "
            f"{item.business_days} business day(s), SLA {plain_date(item.deadline, reader_zone)} · {status}")


def _condition_line(line: ItemLine, reader_zone: ZoneInfo) -> str:
    item = line.item
    status = "OVERDUE" if line.overdue else ("reminder due" if line.due else "listed")
    behalf = f", for {line.on_behalf_of}" if line.on_behalf_of else ""
    return (f"{item.key} {item.gate_name} · condition ({item.owner}{behalf}): {item.text[:60]}, due "
            f"{plain_date(line.deadline, reader_zone)} · {status}")


def _held_reason(held: Held, calendar: WorkCalendar) -> str:
    from bot.services.nudges.service import OUTSIDE_HOURS, SNOOZED

    if held.why == SNOOZED:
        return f"snoozed until {_their_time(calendar, held.recipient, held.zone, held.at)}"
    if held.why == OUTSIDE_HOURS:
        return f"outside their working hours ({_their_time(calendar, held.recipient, held.zone, held.at)})"
    return f"already sent one on {held.at.astimezone(held.zone):%a %Y-%m-%d} (their local date)"


def _their_time(calendar: WorkCalendar, user_id: str, zone: ZoneInfo, at: datetime) -> str:
    """`at` on the person's clock; where Slack has not told us their zone, that is said, not guessed."""
    if calendar.knows_zone(user_id):
        return plain_date(at, zone)
    return f"{plain_date(at, zone)}; their zone is unknown, so DEFAULT_TIMEZONE applies, as in a sweep"


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an ISO-8601 time; write e.g. 2026-12-01T09:30:00+01:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

