"""The digest as Block Kit (for the channel) and as plain text (for the terminal and `/initiative digest`).

Pure: a `DigestReport` in, blocks or text out. Every list is shown in full, a long one in sections of ten lines
(each well within a section's 3,000 characters); a digest longer than a message's 50 blocks goes on in its thread
(`digest_messages`). The text is the same blocks as a person reads them (`bot.views.plain_text`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.services.digest.service import (
    DigestReport,
    ExpiredWaiver,
    FlaggedItem,
    HoldDue,
    Median,
    Movement,
    PastTarget,
    StalledItem,
    WaitingItem,
)
from bot.services.kpis.service import NO_DATA, OFF_TRACK, ON_TRACK, ValueRow, format_measure
from bot.views.blocks import MAX_BLOCKS, Message, finish
from bot.views.plain_text import Reader, render_blocks
from bot.views.text import SECTION_MAX, clip, escape, mention, mrkdwn, slack_date

PREVIEW_COMMAND = "/initiative digest"
STALLED_COMMAND = "/initiative list stalled"
MOVED_TITLES = (("new", "New"), ("imported", "Imported"), ("advanced", "Advanced"), ("sent_back", "Sent back"),
                ("recycled", "Recycled"), ("paused", "Paused"), ("held", "On hold"), ("retired", "Retired"),
                ("killed", "Killed"))
# How a movement of a confidential initiative reads, counted without its name (`_confidential_moved`).
CONFIDENTIAL_MOVED = {"new": "added", "imported": "imported", "advanced": "advanced", "sent_back": "sent back",
                      "recycled": "recycled", "paused": "paused", "held": "put on hold", "retired": "retired",
                      "killed": "killed"}
RESUME_COMMAND = "/initiative resume <KEY>"
CLASSIFY_COMMAND = "/initiative classify <KEY>"
UNCLASSIFIED_NAMED = 5  # the digest counts every initiative not classified yet, and names the first few
CONDITIONS_COMMAND = "/initiative conditions <KEY>"
VALUE_STATUS = {ON_TRACK: "on track", OFF_TRACK: "off track", NO_DATA: "no data"}
VALUE_MARKS = {ON_TRACK: "🟢", OFF_TRACK: "🔴", NO_DATA: "⚪"}


def title_of(report: DigestReport) -> str:
    return f"AI portfolio digest · week {report.week}"


def _conditions_line(report: DigestReport) -> str:
    """`*Conditions*  3 open · 1 overdue · 2 met this week`: what Conditional Gos left people to do."""
    counts = report.conditions
    return (f"*Conditions*  {counts.open} open · {counts.overdue} overdue · {counts.met} met this week"
            + ("  (`/initiative conditions` lists them)" if counts.open else ""))


def fallback_text(report: DigestReport) -> str:
    """The notification line: what a phone shows before the blocks."""
    active = sum(row.active for row in report.funnel)
    advanced = len(report.advanced) + report.confidential_moved.get("advanced", 0)
    overdue = sum(1 for item in report.waiting if item.overdue)
    return (f"{title_of(report)}: {active} active, {advanced} advanced this week, "
            f"{len(report.stalled)} stalled, {overdue} overdue sign-offs.")


# ---- Block Kit ----------------------------------------------------------------------------------------------


def digest_messages(report: DigestReport) -> list[Message]:
    """The digest as posted: the channel message, at most 50 blocks (Slack's limit), and, when the digest is
    longer, the rest in replies in its thread, each of at most 50 blocks and saying what it continues."""
    blocks = digest_blocks(report)
    limit = MAX_BLOCKS["message"]
    if len(blocks) <= limit:
        return [Message(fallback_text(report), finish(blocks, "message"))]
    rest = blocks[limit - 1:]  # each message keeps one block to say that the digest goes on, or where from
    replies = [rest[i:i + limit - 1] for i in range(0, len(rest), limit - 1)]
    total = len(replies) + 1
    more = f"{len(replies)} more message{'s' if len(replies) != 1 else ''}"
    messages = [Message(fallback_text(report), finish(
        [*blocks[:limit - 1], _context(f"The digest goes on in this thread ({more}).")], "message"))]
    for number, part in enumerate(replies, start=2):
        head = f"{title_of(report)}, continued ({number} of {total})"
        messages.append(Message(head, finish([_context(mrkdwn(head, 200)), *part], "message")))
    return messages


def digest_blocks(report: DigestReport) -> list[Block]:
    """The whole digest, every list in full (a long list in several sections), however many blocks that takes;
    `digest_messages` fits it into messages."""
    # A channel has no single reader: each client shows the times in its reader's zone; the fallbacks give them
    # in the digest's zone, saying so.
    zone = ZoneInfo(report.timezone)

    def listing(head: str, lines: list[str]) -> list[Block]:
        return [_section(text) for text in _chunks(head, lines)]

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
    blocks.append(_context(_held_and_paused(report)))
    blocks.append(DividerBlock())
    hidden = report.confidential_moved
    counts = [f"{label} {total}" for kind, label in MOVED_TITLES
              if (total := len(getattr(report, kind)) + hidden.get(kind, 0))]
    blocks.append(_section("*Moved this week*  " + (" · ".join(counts) or "nothing moved")))
    if hidden:
        blocks.append(_context("Counted, not named: " + ", ".join(
            _confidential_moved(count, kind) for kind, _ in MOVED_TITLES if (count := hidden.get(kind))) + "."))
    for kind, label in MOVED_TITLES:
        items: Sequence[Movement] = getattr(report, kind)
        if items or hidden.get(kind):
            blocks += listing(f"*{label}* ({len(items) + hidden.get(kind, 0)})",
                              [_movement_line(item) for item in items]
                              + ([_confidential_moved(hidden[kind], kind)] if hidden.get(kind) else []))
    if report.holds_due:
        blocks += listing(f"*On hold past their revisit date* ({len(report.holds_due)}) — "
                          f"`{escape(RESUME_COMMAND)}` ends one",
                          [_hold_due_line(item) for item in report.holds_due])
    if report.unclassified:
        named = [_unclassified_line(item) for item in report.unclassified[:UNCLASSIFIED_NAMED]]
        more = len(report.unclassified) - len(named)
        blocks += listing(f"*Not classified yet* ({len(report.unclassified)}) — the EU AI Act screening sets their "
                          f"risk tier: `{escape(CLASSIFY_COMMAND)}`",
                          named + ([f"…and {more} more."] if more else []))
    if report.flagged:
        blocks += listing(f"*Flagged after go-live* ({len(report.flagged)}) — At risk, Stale model",
                          [_flagged_line(item) for item in report.flagged])
    if report.past_target:
        blocks += listing(f"*Past their next gate's target date* ({len(report.past_target)})",
                          [_past_target_line(item) for item in report.past_target])
    if report.expired_waivers:
        blocks += listing(f"*Expired waivers* ({len(report.expired_waivers)}) — each holds up its initiative's "
                          f"next review until met or waived again: `{escape(CONDITIONS_COMMAND)}`",
                          [_expired_waiver_line(item) for item in report.expired_waivers])
    if report.value:
        blocks.append(DividerBlock())
        blocks += listing(_value_head(report), [_value_line(row) for row in report.value])
    blocks.append(DividerBlock())
    stalled_head = f"*Stalled* ({len(report.stalled)}) — active and longer in their stage than its threshold"
    blocks += (listing(stalled_head, [_stalled_line(item) for item in report.stalled])
               if report.stalled else [_section(stalled_head + "\nNothing is stalled.")])
    overdue = sum(1 for item in report.waiting if item.overdue)
    waiting_head = f"*Waiting on sign-offs* ({len(report.waiting)}, {overdue} overdue)"
    blocks += (listing(waiting_head, [_waiting_line(item, zone=zone) for item in report.waiting])
               if report.waiting else [_section(waiting_head + "\nNobody is waiting on a sign-off.")])
    blocks.append(_section(_conditions_line(report)))
    if report.delivery_failures:
        lines = [f"• `{f.method}` to {_where(f.channel)}: {mrkdwn(f.error, 200)}, {slack_date(f.at, zone=zone)}"
                 for f in report.delivery_failures]
        blocks += listing(f"*Slack deliveries that failed* ({len(lines)}) — `initiative-bot outbox --failed`", lines)
    if report.broken_links:
        lines = [f"• {mrkdwn(link.url, 120)} ({', '.join(link.initiative_keys)}): {mrkdwn(link.detail, 120)}"
                 for link in report.broken_links]
        blocks += listing(f"*Broken evidence links* ({len(lines)})", lines)
    blocks.append(DividerBlock())
    blocks.append(SectionBlock(text=MarkdownTextObject(text="*Metrics* (last 365 days)"), fields=[
        f"*Pilot → production*\n{_conversion(report)}",
        "*Median days in a stage*\n" + _medians(report.median_days_in_stage, "stay"),
        "*Median days to sign off*\n" + _medians(report.median_turnaround_by_role, "sign-off"),
    ]))
    blocks.append(_context(f"More: `/initiative list` · `{STALLED_COMMAND}` · `{PREVIEW_COMMAND}` (the digest as "
                           "it stands now, for you)"))
    return blocks


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, 3000))])


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_MAX)))


def _change(change: int) -> str:
    return f"(+{change})" if change > 0 else f"(-{-change})" if change < 0 else "(±0)"


def _recycled(count: int) -> str:
    return f", {count} recycled" if count else ""


def _unclassified_line(item: tuple[str, str]) -> str:
    return f"• {_initiative(*item)}"


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


def _value_line(row: ValueRow) -> str:
    """`🔴 *AI-3* Churn model — Monthly churn 3.9% (2026-12-01), target 3.5%: off track`."""
    latest = (f"{format_measure(row.latest, row.unit)} ({row.latest_on.isoformat()})"
              if row.latest is not None and row.latest_on is not None else "no actual")
    target = format_measure(row.target, row.unit) or "none"
    return (f"{VALUE_MARKS[row.status]} *{row.key}* {mrkdwn(row.title, 60)} — {mrkdwn(row.kpi_name, 60)} {latest}, "
            f"target {escape(target)}: {VALUE_STATUS[row.status]}")


def _hold_due_line(item: HoldDue) -> str:
    return (f"• {_initiative(item.key, item.title)} — in {mrkdwn(item.stage_name, 40)}, revisit was due "
            f"{item.revisit_on.isoformat()}: {mrkdwn(item.reason, 160)}")


def _flagged_line(item: FlaggedItem) -> str:
    return (f"• *{item.flag}* {_initiative(item.key, item.title)} — in {mrkdwn(item.stage_name, 40)}: "
            f"{mrkdwn(item.detail, 200)}")


def _expired_waiver_line(item: ExpiredWaiver) -> str:
    return (f"• *{item.key}* {mrkdwn(item.text, 160)} — {mention(item.owner)}, expired "
            f"{item.expired_on.isoformat()}")


def _past_target_line(item: PastTarget) -> str:
    return (f"• {_initiative(item.key, item.title)} — in {mrkdwn(item.stage_name, 40)}, the next gate was due "
            f"by {item.target_on.isoformat()}")


LINES_PER_SECTION = 10  # a long list reads in screenfuls, each section well within Slack's 3,000 characters


def _chunks(head: str, lines: list[str]) -> list[str]:
    """`head` and every line, in sections of at most LINES_PER_SECTION lines and SECTION_MAX characters; each
    section after the first starts by saying which list it continues (it may be read in another message)."""
    continued = head.split(" — ")[0] + " _(continued)_"
    chunks: list[list[str]] = [[head]]
    for line in lines:
        current = chunks[-1]
        if len(current) > LINES_PER_SECTION or len("\n".join([*current, line])) > SECTION_MAX:
            chunks.append([continued])
        chunks[-1].append(line)
    return ["\n".join(chunk) for chunk in chunks]


def _initiative(key: str, title: str) -> str:
    return f"*{key}* {mrkdwn(title, 60)}"


def _confidential_moved(count: int, kind: str) -> str:
    """`1 confidential initiative advanced`: movements the channel may not see, counted without a name."""
    return f"{count} confidential initiative{'s' if count != 1 else ''} {CONFIDENTIAL_MOVED[kind]}"


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


def _held_and_paused(report: DigestReport) -> str:
    """The paused sentence, preceded, when something is on hold, by the two counts apart and where the holds are:
    `On hold: 2 · Paused: 1. 2 initiatives are on hold, not counted above: 2 in Pilot. 1 paused initiative is…`"""
    paused = _paused(report)
    total = report.held_total
    if not total:
        return paused
    where = ", ".join(f"{row.held} in {mrkdwn(row.stage_name, 40)}" for row in report.funnel if row.held)
    return (f"On hold: {total} · Paused: {report.paused_total}. {total} initiative{' is' if total == 1 else 's are'} "
            f"on hold, not counted above: {where}. {paused}")


def _paused(report: DigestReport) -> str:
    """`2 paused initiatives are not counted above: 1 in Idea, 1 in Pilot.`"""
    total = report.paused_total
    if not total:
        return "No initiative is paused."
    where = ", ".join(f"{row.paused} in {mrkdwn(row.stage_name, 40)}" for row in report.funnel if row.paused)
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


def digest_in_full(report: DigestReport) -> list[dict[str, Any]]:
    """The digest's blocks in one piece, for a terminal and the private preview to render as read
    (`bot.views.plain_text`)."""
    return [block.to_dict() for block in digest_blocks(report)]


def preview_text(blocks: list[dict[str, Any]], reader: Reader) -> str:
    """The digest in full (`digest_in_full`) as `reader` reads it, in a code block, for a private
    `/initiative digest` answer."""
    text = escape(render_blocks(blocks, reader))
    if len(text) > PREVIEW_MAX:
        text = text[:PREVIEW_MAX].rsplit("\n", 1)[0] + "\n…cut here: `initiative-bot digest` prints everything."
    return f"Preview of this week's digest, as it stands now (only you see this):\n```\n{text}\n```"
