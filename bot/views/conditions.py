"""Conditions (and expired waivers) as people read them: `/initiative conditions`, the answers of
`/initiative condition met|cancel|reassign`, and the lines `show`, the App Home and DMs share. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block

from bot.commands.registry import Reply
from bot.views.blocks import Message, context, finish, header, more_line, section
from bot.views.outcomes import day
from bot.views.text import clip, escape, mention, mrkdwn, slack_date
from storage.models import Initiative, TrackedItem

_LINES_PER_SECTION = 10


@dataclass(frozen=True)
class ConditionView:
    """One item with what its line shows: its id, its due instant and whether it is past it."""

    key: str
    initiative: Initiative
    item: TrackedItem
    due_at: datetime
    overdue: bool


def condition_line(view: ConditionView, reader_zone: ZoneInfo | None, *, with_initiative: bool = True) -> str:
    item = view.item
    where = f" · {view.initiative.key} {mrkdwn(view.initiative.title, 80)}" if with_initiative else ""
    return f"*{view.key}* {mrkdwn(item.text, 300)} — {mention(item.owner)}{where} · {_state(view, reader_zone)}"


def _state(view: ConditionView, reader_zone: ZoneInfo | None) -> str:
    item = view.item
    if item.state == "met":
        evidence = f": {mrkdwn(item.evidence, 200)}" if item.evidence else ""
        return f"✅ met by {mention(item.closed_by)}{evidence}"
    if item.state == "cancelled":
        return f"✖️ cancelled by {mention(item.closed_by)}: {mrkdwn(item.close_reason, 200)}"
    due = slack_date(view.due_at, zone=reader_zone, fmt="{date_short_pretty}")
    return f":red_circle: *overdue* since {due}" if view.overdue else f"due {due}"


def conditions_reply(views: Sequence[ConditionView], *, total: int, scope_label: str,
                     reader_zone: ZoneInfo | None) -> Reply:
    """`/initiative conditions [KEY|mine]`."""
    if not views:
        message = f"No conditions {scope_label}."
        return Reply(text=escape(message), blocks=finish([section(escape(message))], "message"))
    lines = [condition_line(view, reader_zone) for view in views]
    overdue = sum(1 for view in views if view.overdue)
    blocks: list[Block] = [header(f"Conditions {scope_label} ({total})")]
    for start in range(0, len(lines), _LINES_PER_SECTION):
        blocks.append(section("\n".join(lines[start:start + _LINES_PER_SECTION])))
    if more := more_line(len(views), total, "`/initiative conditions <KEY>` lists one initiative's."):
        blocks.append(context(escape(more)))
    blocks.append(context("`/initiative condition met <id> <evidence or link>` closes one; its sponsor or an admin "
                          "can `cancel` it or `reassign` it, with a reason."))
    text = (f"{total} condition(s) {escape(scope_label)}" + (f", {overdue} overdue" if overdue else "") + ": "
            + "; ".join(f"{view.key} {mrkdwn(view.item.text, 100)}" for view in views))
    return Reply(text=text, blocks=finish(blocks, "message"))


def met_text(key: str, item: TrackedItem) -> str:
    return f"*{key}* is met: {mrkdwn(item.text, 300)}. Evidence: {mrkdwn(item.evidence, 500)}"


def cancelled_text(key: str, item: TrackedItem) -> str:
    return f"*{key}* is cancelled: {mrkdwn(item.text, 300)}. Reason: {mrkdwn(item.close_reason, 500)}"


def waived_again_text(key: str, until: date) -> str:
    return (f"*{key}* is waived again until {day(until)}: it no longer holds up the next review. You will be "
            "reminded 5 business days before it expires.")


def reassigned_text(key: str, item: TrackedItem) -> str:
    return f"*{key}* is now {mention(item.owner)}'s: {mrkdwn(item.text, 300)}. They will be reminded of it."


def condition_news(key: str, initiative: Initiative, item: TrackedItem, *, what: str, actor: str) -> Message:
    """The DM a condition's owner gets when it is set on them (or given to them), met or cancelled by another."""
    name = f"*{key}* on *{initiative.key}* {mrkdwn(initiative.title, 100)}"
    text = mrkdwn(item.text, 500)
    due = day(item.due_on)
    if what == "created":
        line = f"{name} is yours to meet by {due}: {text}"
        more = (f"Set by {mention(actor)} as a condition of the gate it passed. You will be reminded as the date "
                f"nears; when it is done: `/initiative condition met {key} <evidence or link>`.")
    elif what == "reassigned":
        line = f"{name} was given to you by {mention(actor)}, due {due}: {text}"
        more = f"When it is done: `/initiative condition met {key} <evidence or link>`."
    elif what == "met":
        line = f"{name} was closed as met by {mention(actor)}: {text}"
        more = f"Evidence: {mrkdwn(item.evidence, 1000)}"
    else:
        line = f"{name} was cancelled by {mention(actor)}: {text}"
        more = f"Reason: {mrkdwn(item.close_reason, 1000)}"
    fallback = {"created": f"is yours to meet by {due}", "reassigned": "was given to you", "met": "was met",
                "cancelled": "was cancelled"}[what]
    return Message(text=f"Condition {key} of {initiative.key} {fallback}: {clip(item.text, 200)}",
                   blocks=finish([section(line), context(more)], "message"))
