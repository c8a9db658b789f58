"""The digest as Block Kit (for the channel) and as plain text (for the terminal and `/initiative digest`).

Pure: a `DigestReport` in, blocks or text out. Long lists stop at a few items and end with "and N more" and
the command that shows them all, so the message stays well within Block Kit's 50 blocks and 3,000 characters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.services.digest.report import DigestReport, HoldDue, Median, Movement, StalledItem, WaitingItem
from bot.services.kpis.actuals import NO_DATA, OFF_TRACK, ON_TRACK
from bot.services.kpis.definitions import format_measure
from bot.services.kpis.value import ValueRow
from bot.views.text import SECTION_MAX, clip, escape, mention, mrkdwn, plain_date, slack_date

MOVED_SHOWN = 5
LIST_SHOWN = 8
FULL_TEXT_COMMAND = "/initiative digest"
STALLED_COMMAND = "/initiative list stalled"
MOVED_TITLES = (("new", "New"), ("imported", "Imported"), ("advanced", "Advanced"), ("sent_back", "Sent back"),
                ("recycled", "Recycled"), ("paused", "Paused"), ("held", "On hold"), ("retired", "Retired"),
                ("killed", "Killed"))
RESUME_COMMAND = "/initiative resume <KEY>"
VALUE_COMMAND = "initiative-bot export kpis"
VALUE_STATUS = {ON_TRACK: "on track", OFF_TRACK: "off track", NO_DATA: "no data"}
VALUE_MARKS = {ON_TRACK: "🟢", OFF_TRACK: "🔴", NO_DATA: "⚪"}


def title_of(report: DigestReport) -> str:
    return f"AI portfolio digest · week {report.week}"


def fallback_text(report: DigestReport) -> str:
    """The notification line: what a phone shows before the blocks."""
    active = sum(row.active for row in report.funnel)
    advanced = len(report.advanced)
    overdue = sum(1 for item in report.waiting if item.overdue)
    return (f"{title_of(report)}: {active} active, {advanced} advanced this week, "
            f"{len(report.stalled)} stalled, {overdue} overdue sign-offs.")


# ---- Block Kit ----------------------------------------------------------------------------------------------


def digest_blocks(report: DigestReport) -> list[Block]:
    # A channel has no single reader: each client shows the times in its reader's zone; the fallbacks give them
    # in the digest's zone, saying so.
    zone = ZoneInfo(report.timezone)
    blocks: list[Block] = [
        HeaderBlock(text=clip(title_of(report), 150)),
        _context(f"{slack_date(report.window_start, zone=zone, fmt='{date_short_pretty}')} - "
                 f"{slack_date(report.as_of, zone=zone)} · {mrkdwn(report.scope, 100)} · "
                 f"digest `{mrkdwn(report.name, 64)}`"),
        _section("*Funnel* — active initiatives now (change since last week)"),
    ]
    fields = [f"*{mrkdwn(row.stage_name, 60)}*\n{row.active}  {_change(row.change)}{_recycled(row.recycled)}"
              for row in report.funnel]
    blocks += [SectionBlock(fields=fields[i:i + 10]) for i in range(0, len(fields), 10)]
    blocks.append(_context(_held_and_paused(report, mrkdwn)))
    blocks.append(DividerBlock())
    counts = [f"{label} {len(getattr(report, kind))}" for kind, label in MOVED_TITLES if getattr(report, kind)]
    blocks.append(_section("*Moved this week*  " + (" · ".join(counts) or "nothing moved")))
    for kind, label in MOVED_TITLES:
        items: Sequence[Movement] = getattr(report, kind)
        if items:
            blocks.append(_section(_listing(f"*{label}*", items, MOVED_SHOWN, _movement_line, FULL_TEXT_COMMAND)))
    if report.holds_due:
        blocks.append(_section(_listing(f"*On hold past their revisit date* ({len(report.holds_due)})",
                                        report.holds_due, LIST_SHOWN, _hold_due_line, RESUME_COMMAND)))
    if report.value:
        blocks.append(DividerBlock())
        blocks.append(_section(_cut(_value_head(report), [_value_line(row, mrkdwn) for row in report.value],
                                    LIST_SHOWN, f"`{VALUE_COMMAND}`")))
    blocks.append(DividerBlock())
    stalled_head = f"*Stalled* ({len(report.stalled)}) — active and longer in their stage than its threshold"
    blocks.append(_section(_listing(stalled_head, report.stalled, LIST_SHOWN, _stalled_line, STALLED_COMMAND)
                           if report.stalled else stalled_head + "\nNothing is stalled."))
    overdue = sum(1 for item in report.waiting if item.overdue)
    waiting_head = f"*Waiting on sign-offs* ({len(report.waiting)}, {overdue} overdue)"
    blocks.append(_section(_listing(waiting_head, report.waiting, LIST_SHOWN, partial(_waiting_line, zone=zone),
                                    FULL_TEXT_COMMAND)
                           if report.waiting else waiting_head + "\nNobody is waiting on a sign-off."))
    if report.delivery_failures:
        lines = [f"• `{f.method}` to {_where(f.channel)}: {mrkdwn(f.error, 200)}, {slack_date(f.at, zone=zone)}"
                 for f in report.delivery_failures]
        blocks.append(_section(_cut(f"*Slack deliveries that failed* ({len(lines)})", lines, LIST_SHOWN,
                                    "`initiative-bot outbox --failed`")))
    if report.broken_links:
        lines = [f"• {mrkdwn(link.url, 120)} ({', '.join(link.initiative_keys)}): {mrkdwn(link.detail, 120)}"
                 for link in report.broken_links]
        blocks.append(_section(_cut(f"*Broken evidence links* ({len(lines)})", lines, LIST_SHOWN,
                                    "`/initiative show <KEY>`")))
    blocks.append(DividerBlock())
    blocks.append(SectionBlock(text=MarkdownTextObject(text="*Metrics* (last 365 days)"), fields=[
        f"*Pilot → production*\n{_conversion(report)}",
        "*Median days in a stage*\n" + _medians(report.median_days_in_stage, "stay"),
        "*Median days to sign off*\n" + _medians(report.median_turnaround_by_role, "sign-off"),
    ]))
    blocks.append(_context(f"More: `/initiative list` · `{STALLED_COMMAND}` · `{FULL_TEXT_COMMAND}` "
                           "(every list in full)"))
    return blocks


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, 3000))])


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_MAX)))


def _change(change: int) -> str:
    return f"(+{change})" if change > 0 else f"(-{-change})" if change < 0 else "(±0)"


def _recycled(count: int) -> str:
    return f", {count} recycled" if count else ""


VALUE_TITLE = "Value in Production and later"


def _value_head(report: DigestReport) -> str:
    return f"*{VALUE_TITLE}* — {_value_summary(report)}"


def _value_summary(report: DigestReport) -> str:
    """`3 on track · 1 off track · 2 no data. Value delivered: 12,300 EUR (2 KPIs).`"""
    counts = " · ".join(f"{sum(row.status == status for row in report.value)} {word}"
                        for status, word in VALUE_STATUS.items())
    delivered = " · ".join(f"{format_measure(total.amount, total.currency)} ({total.kpis} KPI"
                           f"{'s' if total.kpis != 1 else ''})" for total in report.value_totals)
    return f"{counts}." + (f" Value delivered: {delivered}." if delivered else "")


def _value_line(row: ValueRow, name: Callable[[str, int], str], *, mark: bool = True) -> str:
    """`🔴 *AI-3* Churn model — Monthly churn 3.9% (2026-12-01), target 3.5%: off track`."""
    latest = (f"{format_measure(row.latest, row.unit)} ({row.latest_on.isoformat()})"
              if row.latest is not None and row.latest_on is not None else "no actual")
    target = format_measure(row.target, row.unit) or "none"
    head = f"{VALUE_MARKS[row.status]} *{row.key}* {name(row.title, 60)}" if mark else f"{row.key} {row.title}"
    return f"{head} — {name(row.kpi_name, 60)} {latest}, target {target}: {VALUE_STATUS[row.status]}"


def _hold_due_line(item: HoldDue) -> str:
    return (f"• {_initiative(item.key, item.title)} — in {mrkdwn(item.stage_name, 40)}, revisit was due "
            f"{item.revisit_on.isoformat()}: {mrkdwn(item.reason, 160)}")


def _listing(head: str, items: Sequence, shown: int, line: Callable, command: str) -> str:  # type: ignore[type-arg]
    return _cut(head, [line(item) for item in items], shown, f"`{command}`")


def _cut(head: str, lines: list[str], shown: int, command: str) -> str:
    """At most `shown` lines, then "and N more" with the command that lists them all; within 3,000 chars."""
    body = lines[:shown]
    more = len(lines) - len(body)
    tail = f"…and {more} more: {command} shows them all." if more else ""
    while len("\n".join([head, *body, tail])) > SECTION_MAX and body:
        body.pop()
        more += 1
        tail = f"…and {more} more: {command} shows them all."
    return "\n".join(part for part in [head, *body, tail] if part)


def _initiative(key: str, title: str) -> str:
    return f"*{key}* {mrkdwn(title, 60)}"


def _movement_line(item: Movement) -> str:
    return f"• {_initiative(item.key, item.title)} — {mrkdwn(item.detail, 160)}"


def _stalled_line(item: StalledItem) -> str:
    return (f"• {_initiative(item.key, item.title)} — {item.days_in_stage} days in {mrkdwn(item.stage_name, 40)} "
            f"(threshold {item.threshold})")


def _waiting_line(item: WaitingItem, *, zone: ZoneInfo) -> str:
    flag = ":warning: overdue, " if item.overdue else ""
    return (f"• {mention(item.assignee)} ({mrkdwn(item.role_name, 40)}) blocks {_initiative(item.key, item.title)} "
            f"at {mrkdwn(item.gate_name, 40)} — {flag}{item.business_days_waiting} business days, "
            f"due {slack_date(item.due_at, zone=zone)}")


def _where(channel: str) -> str:
    return f"<@{channel}>" if channel[:1] in "UW" else f"<#{channel}>" if channel else "?"


def _conversion(report: DigestReport) -> str:
    if report.conversion.rate is None:
        return "No initiative entered Pilot in the last 365 days."
    return f"{report.conversion.counted()} of the initiatives that entered Pilot reached Production."


def _held_and_paused(report: DigestReport, name: Callable[[str, int], str]) -> str:
    """The paused sentence, preceded, when something is on hold, by the two counts apart and where the holds are:
    `On hold: 2 · Paused: 1. 2 initiatives are on hold, not counted above: 2 in Pilot. 1 paused initiative is…`"""
    paused = _paused(report, name)
    total = report.held_total
    if not total:
        return paused
    where = ", ".join(f"{row.held} in {name(row.stage_name, 40)}" for row in report.funnel if row.held)
    return (f"On hold: {total} · Paused: {report.paused_total}. {total} initiative{' is' if total == 1 else 's are'} "
            f"on hold, not counted above: {where}. {paused}")


def _paused(report: DigestReport, name: Callable[[str, int], str]) -> str:
    """`2 paused initiatives are not counted above: 1 in Idea, 1 in Pilot.`"""
    total = report.paused_total
    if not total:
        return "No initiative is paused."
    where = ", ".join(f"{row.paused} in {name(row.stage_name, 40)}" for row in report.funnel if row.paused)
    return f"{total} paused initiative{' is' if total == 1 else 's are'} not counted above: {where}."

def _medians(medians: dict[str, Median], counted: str) -> str:
    """`Pilot: 12 days (4 stays)` per line; `Pilot: none yet` without data."""
    parts = [f"{name}: {_days(m.days)} ({m.count} {counted}{'s' if m.count != 1 else ''})"
             if m.days is not None else f"{name}: none yet" for name, m in medians.items()]
    return clip("\n".join(parts), 2000) or "none yet"


def _days(days: float) -> str:
    """Whole days from 10 up, one decimal below: `102 days`, `2.5 days`, `1 day`."""
    shown = f"{days:.0f}" if days >= 10 else f"{days:.1f}".removesuffix(".0")
    return f"{shown} day{'' if shown == '1' else 's'}"


# ---- plain text -----------------------------------------------------------------------------------------------


def digest_text(report: DigestReport, *, shown: int | None = None) -> str:
    """Readable text for a terminal or a private preview; `shown=None` lists everything."""
    zone = ZoneInfo(report.timezone)

    def when(at: datetime) -> str:
        return plain_date(at, zone)

    out = [title_of(report), f"{when(report.window_start)} - {when(report.as_of)} · {report.scope} · "
                              f"digest {report.name}", "", "FUNNEL (active now, change since last week)"]
    width = max((len(row.stage_name) for row in report.funnel), default=5)
    for row in report.funnel:
        out.append(f"  {row.stage_name:<{width}}  {row.active:>5}  {_change(row.change)}{_recycled(row.recycled)}")
    out.append("  " + _held_and_paused(report, lambda name, _limit: name))
    out += ["", "MOVED THIS WEEK"]
    for kind, label in MOVED_TITLES:
        items: Sequence[Movement] = getattr(report, kind)
        out.append(f"  {label} ({len(items)})")
        out += _plain(items, shown, lambda m: f"{m.key} {m.title} — {m.detail} ({when(m.at)})")
    if report.holds_due:
        out += ["", f"ON HOLD PAST THEIR REVISIT DATE ({len(report.holds_due)})"]
        out += _plain(report.holds_due, shown, lambda h: f"{h.key} {h.title} — in {h.stage_name}, revisit was due "
                                                         f"{h.revisit_on.isoformat()}: {h.reason}")
    if report.value:
        out += ["", f"{VALUE_TITLE.upper()} — {_value_summary(report)}"]
        out += _plain(report.value, shown, lambda row: _value_line(row, lambda text, _limit: text, mark=False),
                      more=VALUE_COMMAND)
    out += ["", f"STALLED ({len(report.stalled)})"]
    out += _plain(report.stalled, shown, lambda s: f"{s.key} {s.title} — {s.days_in_stage} days in {s.stage_name} "
                                                   f"(threshold {s.threshold})", more=STALLED_COMMAND)
    overdue = sum(1 for item in report.waiting if item.overdue)
    out += ["", f"WAITING ON SIGN-OFFS ({len(report.waiting)}, {overdue} overdue)"]
    out += _plain(report.waiting, shown, lambda w: (
        f"{'OVERDUE ' if w.overdue else ''}{w.assignee} ({w.role_name}) blocks {w.key} {w.title} at {w.gate_name} "
        f"— {w.business_days_waiting} business days, due {when(w.due_at)}"))
    if report.delivery_failures:
        out += ["", f"SLACK DELIVERIES THAT FAILED ({len(report.delivery_failures)})"]
        out += _plain(report.delivery_failures, shown, lambda f: f"{f.method} to {f.channel}: {f.error} ({when(f.at)})")
    if report.broken_links:
        out += ["", f"BROKEN EVIDENCE LINKS ({len(report.broken_links)})"]
        out += _plain(report.broken_links, shown,
                      lambda link: f"{link.url} ({', '.join(link.initiative_keys)}): {link.detail}")
    out += ["", "METRICS (last 365 days)", f"  Pilot → production: {_conversion(report)}",
            "  Median days in a stage: " + _medians(report.median_days_in_stage, "stay").replace("\n", "; "),
            "  Median days to sign off: " + _medians(report.median_turnaround_by_role, "sign-off").replace("\n", "; "),
            "", f"More: /initiative list · {STALLED_COMMAND}"]
    return "\n".join(out)


def _plain(items: Sequence, shown: int | None, line: Callable, more: str = FULL_TEXT_COMMAND) -> list[str]:  # type: ignore[type-arg]
    if not items:
        return ["    none"]
    visible = items if shown is None else items[:shown]
    lines = [f"    • {line(item)}" for item in visible]
    if len(items) > len(visible):
        lines.append(f"    …and {len(items) - len(visible)} more: {more} shows them all.")
    return lines


def not_posted_notice(*, digest_name: str, week: str, channel_id: str, error: str) -> str:
    """The one DM admins get when the digest cannot be posted (bot not in the channel, channel gone...). The
    scheduler keeps trying until the week ends (bot/services/digest/scheduled.py), which is what it promises."""
    if error.startswith("not_in_channel"):
        fix = f"Invite me: type `/invite @Initiative Bot` in <#{channel_id}>."
    else:
        fix = f"Check the channel ({error})."
    return (f"The weekly digest `{digest_name}` for {week} could not be posted to <#{channel_id}>. {fix} I try "
            f"again within the hour until the week ends, and `initiative-bot digest --post` posts it at once. "
            f"`initiative-bot digest` prints it in the meantime.")


PREVIEW_MAX = 38_000  # Slack refuses message text over 40,000 characters


def preview_text(report: DigestReport) -> str:
    """The whole digest as text in a code block, for a private `/initiative digest` answer."""
    text = escape(digest_text(report))
    if len(text) > PREVIEW_MAX:
        text = text[:PREVIEW_MAX].rsplit("\n", 1)[0] + "\n…cut here: `initiative-bot digest` prints everything."
    return f"Preview of this week's digest, as it stands now (only you see this):\n```\n{text}\n```"
