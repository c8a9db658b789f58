"""The consolidated nudge DM and the escalation DM. Pure: a `Notice` in, a `Message` out.

Each listed sign-off owns the blocks whose `block_id` ends in `.<sign-off id>`, so an unsent message can drop a
sign-off its owner has decided (`without_sign_offs`) without being rebuilt from the database.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.services.nudges.service import ESCALATION, Item, ItemLine, Notice
from bot.views import ids
from bot.views.blocks import Message, context, finish, header, more_line, section
from bot.views.kpis import kpi_request_blocks
from bot.views.text import mention, mrkdwn, slack_date

NUDGE_ITEMS_SHOWN = 13  # 2 blocks each, plus 5 around them: well within a message's 50 blocks
ESCALATION_ITEMS_SHOWN = 20  # 1 block each
NUDGE_CONDITIONS_SHOWN = 8  # 1 block each, plus 3 around them
NUDGE_KPIS_SHOWN = 5  # 1 block each, plus 2 around them: 13 sign-offs, 8 conditions and 5 KPI updates take 49
ESCALATION_CONDITIONS_SHOWN = 10
ITEM_BLOCK = "nudge.item."
CONDITION_BLOCK = "nudge.condition."
KPI_BLOCK = "nudge.kpi."
ACTIONS_BLOCK = "nudge.actions."
COUNT_BLOCK = "nudge.count"
HOME_HINT = "Open the *Home* tab of Initiative Bot to see them all."


def nudge_message(notice: Notice) -> Message:
    """One DM listing every pending sign-off of the recipient, oldest first, with its buttons, then their open
    conditions, soonest due first, the KPI actuals they are asked to record, and the snoozes."""
    if notice.kind == ESCALATION:
        return escalation_message(notice)
    shown = notice.items[:NUDGE_ITEMS_SHOWN]
    title = ("Sign-offs waiting for your decision" if notice.items else "Conditions to meet" if notice.lines
             else "KPI actuals to record")
    blocks: list[Block] = [header(title)]
    if notice.items:
        blocks.append(section(_count_line(len(notice.items), "waiting for your decision, oldest first"),
                              block_id=COUNT_BLOCK))
    for item in shown:
        blocks.append(section(_item_text(item, notice.zone), block_id=f"{ITEM_BLOCK}{item.pending.sign_off_id}"))
        blocks.append(_decision_buttons(item.pending.sign_off_id))
    if more := more_line(len(shown), len(notice.items), HOME_HINT):
        blocks.append(context(more))
    blocks += _condition_blocks(notice, NUDGE_CONDITIONS_SHOWN)
    blocks += _kpi_blocks(notice)
    blocks.append(context("Not now? Snooze these reminders. Business days and hours follow your Slack time zone."))
    blocks.append(ActionsBlock(block_id=ids.SNOOZE_BLOCK, elements=[
        ButtonElement(text="Snooze 1 day", action_id=ids.SNOOZE_ONE_DAY, value="1d"),
        ButtonElement(text="Snooze until Monday", action_id=ids.SNOOZE_UNTIL_MONDAY, value="monday"),
    ]))
    return Message(text=_fallback(notice.kind, len(notice.items), len(notice.lines), len(notice.kpis)),
                   blocks=finish(blocks, "message"))


def escalation_message(notice: Notice) -> Message:
    """To a sponsor (or business owner) and the admins: sign-offs past their SLA, oldest first, and overdue
    conditions."""
    shown = notice.items[:ESCALATION_ITEMS_SHOWN]
    blocks: list[Block] = [header("Sign-offs past their SLA" if notice.items else "Conditions past their date")]
    if notice.items:
        blocks.append(section(_count_line(len(notice.items), "past their SLA on initiatives you sponsor, own or "
                                          "administer"), block_id=COUNT_BLOCK))
    for item in shown:
        blocks.append(section(_item_text(item, notice.zone, waiting_on=True),
                              block_id=f"{ITEM_BLOCK}{item.pending.sign_off_id}"))
    if more := more_line(len(shown), len(notice.items), HOME_HINT):
        blocks.append(context(more))
    blocks += _condition_blocks(notice, ESCALATION_CONDITIONS_SHOWN, waiting_on=True)
    blocks.append(context("A nudge goes to each person named; a word from you usually settles it."))
    return Message(text=_fallback(notice.kind, len(notice.items), len(notice.lines)), blocks=finish(blocks, "message"))


def _condition_blocks(notice: Notice, limit: int, *, waiting_on: bool = False) -> list[Block]:
    """The notice's open conditions (and expired waivers), one section each, soonest due first."""
    if not notice.lines:
        return []
    overdue = sum(1 for line in notice.lines if line.overdue)
    what = "overdue" if waiting_on else "to meet"
    blocks: list[Block] = [section(f"*{len(notice.lines)} condition{'s' if len(notice.lines) != 1 else ''}* {what}"
                                   + (f", {overdue} overdue" if overdue and not waiting_on else "") + ":")]
    for line in notice.lines[:limit]:
        blocks.append(section(_line_text(line, notice.zone, waiting_on=waiting_on),
                              block_id=f"{CONDITION_BLOCK}{line.item.item_id}"))
    if more := more_line(min(limit, len(notice.lines)), len(notice.lines), "`/initiative conditions mine` lists them "
                         "all."):
        blocks.append(context(more))
    blocks.append(context("Met? `/initiative condition met <id> <evidence or link>` closes it."))
    return blocks


def _kpi_blocks(notice: Notice) -> list[Block]:
    """The live initiatives whose KPI actuals the recipient is asked to record, each with its button."""
    return kpi_request_blocks(notice.kpis, shown=NUDGE_KPIS_SHOWN, block_id_prefix=KPI_BLOCK, reader=notice.recipient)


def _line_text(line: ItemLine, reader_zone: ZoneInfo, *, waiting_on: bool) -> str:
    item = line.item
    who = f" · owned by {mention(item.owner)}" if waiting_on else ""
    behalf = f" · for {mention(line.on_behalf_of)} (delegated to you)" if line.on_behalf_of else ""
    deadline = slack_date(line.deadline, zone=reader_zone)
    status = (f":red_circle: *Overdue* since {deadline}" if line.overdue
              else f":large_yellow_circle: *Due* {deadline}" if line.due else f"Due {deadline}")
    return (f"*{item.key}* {mrkdwn(item.text, 300)}\n"
            f"{item.initiative_key} {mrkdwn(item.initiative_title, 100)} · {mrkdwn(item.gate_name, 80)}{who}{behalf}\n"
            f"{status}")


def without_sign_offs(payload: dict[str, Any], decided: set[int], kind: str,
                      closed: set[int] | frozenset[int] = frozenset()) -> dict[str, Any] | None:
    """The same DM payload without the sign-offs in `decided` and the conditions in `closed`; None when nothing it
    listed is left."""
    gone = {f"{CONDITION_BLOCK}{item_id}" for item_id in closed}
    blocks = [b for b in payload.get("blocks", []) if _owner_of(b) not in decided and b.get("block_id") not in gone]
    left = sum(1 for b in blocks if str(b.get("block_id", "")).startswith(ITEM_BLOCK))
    conditions = sum(1 for b in blocks if str(b.get("block_id", "")).startswith(CONDITION_BLOCK))
    kpis = sum(1 for b in blocks if str(b.get("block_id", "")).startswith(KPI_BLOCK))
    if left == 0 and conditions == 0 and kpis == 0:
        return None
    if left == 0:  # only conditions are left: no "0 sign-offs" line
        blocks = [b for b in blocks if b.get("block_id") != COUNT_BLOCK]
    noun = "waiting for your decision, oldest first" if kind != ESCALATION else \
        "past their SLA on initiatives you sponsor, own or administer"
    recounted = [{**b, "text": {**b["text"], "text": _count_line(left, noun)}} if b.get("block_id") == COUNT_BLOCK
                 else b for b in blocks]
    return {**payload, "text": _fallback(kind, left, conditions, kpis), "blocks": recounted}


def _item_text(item: Item, reader_zone: ZoneInfo, *, waiting_on: bool = False) -> str:
    p = item.pending
    who = f" · waiting on {mention(p.assignee)}" if waiting_on else ""
    behalf = f" · for {mention(item.on_behalf_of)} (delegated to you)" if item.on_behalf_of else ""
    return (f"*{p.initiative_key}* {mrkdwn(p.initiative_title, 150)}\n"
            f"{mrkdwn(p.gate_name, 80)} · {mrkdwn(p.role_name, 60)}{who}{behalf}\n"
            f"{_status(item, reader_zone)} · pending {item.business_days} "
            f"business day{'s' if item.business_days != 1 else ''}")


def _status(item: Item, reader_zone: ZoneInfo) -> str:
    deadline = slack_date(item.deadline, zone=reader_zone)
    if item.overdue:
        return f":red_circle: *Overdue* since {deadline}"
    return f":large_yellow_circle: *Due* {deadline}" if item.due else f"Due {deadline}"


def _decision_buttons(sign_off_id: int) -> ActionsBlock:
    value = ids.sign_off_value(sign_off_id)
    return ActionsBlock(block_id=f"{ACTIONS_BLOCK}{sign_off_id}", elements=[
        ButtonElement(text="Review & approve", action_id=ids.APPROVE, value=value, style="primary"),
        ButtonElement(text="Request changes", action_id=ids.REQUEST_CHANGES, value=value),
    ])


def _owner_of(block: dict[str, Any]) -> int | None:
    block_id = str(block.get("block_id", ""))
    for prefix in (ITEM_BLOCK, ACTIONS_BLOCK):
        if block_id.startswith(prefix) and block_id[len(prefix):].isdigit():
            return int(block_id[len(prefix):])
    return None


def _count_line(count: int, what: str) -> str:
    return f"*{count} sign-off{'s' if count != 1 else ''}* {what}:"


def _fallback(kind: str, count: int, conditions: int = 0, kpis: int = 0) -> str:
    plural = "s" if count != 1 else ""
    also = f" {conditions} condition{'s' if conditions != 1 else ''}" if conditions else ""
    if kind == ESCALATION:
        if not count:
            return f"{also.strip()} past their date need a push."
        return f"{count} sign-off{plural} past their SLA need a push." + (f" Also{also} overdue." if also else "")
    actuals = f"KPI actuals to record on {kpis} live initiative{'s' if kpis != 1 else ''}." if kpis else ""
    if not count and not conditions:
        return f"Reminder: {actuals}"
    first = (f"Reminder:{also} to meet." if not count else f"Reminder: {count} sign-off{plural} waiting for your "
             "decision." + (f" Also{also} to meet." if also else ""))
    return f"{first} {actuals}".strip()



def snoozed_text(until: datetime) -> str:
    return (f"Snoozed: no reminders until {slack_date(until, fmt='{date_long_pretty} at {time}')}. "
            "Your sign-offs stay in the Home tab meanwhile.")


def delegation_text(delegate: str, until: date, zone_name: str) -> str:
    return (f"Until 23:59 on {until:%a %d %b %Y} ({zone_name}), {mention(delegate)} can decide your sign-offs and "
            "re-attestations, meet your conditions and record your KPI actuals, and gets your reminders instead of "
            "you. You can still act yourself; `/initiative delegate off` ends it sooner.")
