"""A person's desk: "Waiting on me" (the App Home's first section, and all of `/initiative todo`), "My
initiatives" with what blocks each, and the paged modal a "See all" button opens when a list is longer than the
Home shows. Pure: what waits comes from bot.services.waiting.service, gathered by bot.presenters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement
from slack_sdk.models.views import View

from bot.commands.registry import Reply
from bot.services.gates.service import REATTEST_PREFIX, GateCatalog
from bot.services.initiatives.service import days_in_stage
from bot.services.waiting.service import Blockers, OpenItem, Pending, Waits
from bot.views import ids
from bot.views.blocks import context, finish, header, section
from bot.views.outcomes import day
from bot.views.replies import initiative_line, stage_name
from bot.views.text import clip, escape, mention, mrkdwn, plain_date, slack_date
from storage.models import Initiative

WAITING_SHOWN = 15  # up to 2 blocks each: the Home's and `todo`'s first 15, the same
PAGE_SIZE = 20  # entries (or initiatives) per page of the "See all" modal: at most 2 blocks each
STALLED_PAGE = 40  # stalled initiatives per page: lines, 10 to a section
CONDITION_HINT = "Met? `/initiative condition met <id> <evidence or link>` closes a condition or an expired waiver."
NOTHING_WAITS = "Nothing waits on you. 🎉"


@dataclass(frozen=True)
class MyInitiative:
    """An initiative the reader owns, with what it waits for (`blockers`) and, when held, until when."""

    initiative: Initiative
    blockers: Blockers
    held_until: date | None = None


def waiting_blocks(entries: Sequence[Waits], *, reader_zone: ZoneInfo, shown: int = WAITING_SHOWN) -> list[Block]:
    """"Waiting on me": the first `shown` of `entries` (oldest first) with their due dates and buttons, and a
    "See all" button when there are more."""
    blocks: list[Block] = [header(f"Waiting on me ({len(entries)})" if entries else "Waiting on me")]
    if not entries:
        return [*blocks, section(NOTHING_WAITS)]
    for entry in entries[:shown]:
        blocks += entry_blocks(entry, reader_zone)
    if any(isinstance(entry.what, OpenItem) for entry in entries[:shown]):
        blocks.append(context(CONDITION_HINT))
    if len(entries) > shown:
        blocks.append(see_all(ids.DESK_WAITING, len(entries)))
    return blocks


def entry_blocks(entry: Waits, reader_zone: ZoneInfo) -> list[Block]:
    """One thing waiting, as the Home, `todo` and the "See all" modal show it, with what acts on it."""
    due = _due(entry, reader_zone)
    what = entry.what
    behalf = _behalf(entry)
    if isinstance(what, Pending):
        value = ids.sign_off_value(what.sign_off_id)
        # A re-attestation is answered as its DM asks: confirm, or cannot confirm (bot.views.messages).
        approve, send_back = (("Confirm", "Cannot confirm") if what.gate_slug.startswith(REATTEST_PREFIX)
                              else ("Approve", "Request changes"))
        return [section(f"*{what.initiative_key}* {mrkdwn(what.initiative_title, 150)}\n"
                        f"{escape(what.role_name)} sign-off{behalf} · {escape(what.gate_name)} · requested "
                        f"{slack_date(what.requested_at, zone=reader_zone)} · {due}"),
                ActionsBlock(block_id=f"pending.{what.sign_off_id}", elements=[
                    ButtonElement(text=approve, action_id=ids.APPROVE, value=value, style="primary"),
                    ButtonElement(text=send_back, action_id=ids.REQUEST_CHANGES, value=value)])]
    if isinstance(what, OpenItem):
        kind = "Condition" if what.kind == "condition" else "Expired waiver"
        return [section(f"*{what.key}* {mrkdwn(what.text, 400)}\n{kind} of {what.initiative_key} "
                        f"{mrkdwn(what.initiative_title, 100)}, from {escape(what.gate_name)}{behalf} · {due}")]
    names = ", ".join(mrkdwn(name, 100) for name in what.kpi_names[:5])
    return [section(f"*{what.key}* {mrkdwn(what.title, 150)}\nKPI actuals to record ({names}){behalf} · {due}",
                    block_id=f"desk.kpi.{what.initiative_id}",
                    accessory=ButtonElement(text="Record KPI actuals", action_id=ids.KPI_RECORD,
                                            value=ids.initiative_key_value(what.key), style="primary"))]


def _behalf(entry: Waits) -> str:
    """Whom a delegated entry is for, in the words the nudges and the KPI reminders use."""
    return f" · for {mention(entry.on_behalf_of)} (delegated to you)" if entry.on_behalf_of else ""


def _due(entry: Waits, reader_zone: ZoneInfo) -> str:
    when = day(entry.due) if not isinstance(entry.due, datetime) else slack_date(entry.due, zone=reader_zone)
    return f":red_circle: *overdue* since {when}" if entry.overdue else f"due {when}"


def waiting_text(entries: Sequence[Waits], *, reader_zone: ZoneInfo, shown: int = WAITING_SHOWN) -> str:
    """The plain-text fallback of `waiting_blocks`: a line each, due dates in the reader's zone."""
    if not entries:
        return NOTHING_WAITS
    lines = [f"Waiting on you ({len(entries)}), oldest first:"]
    for entry in entries[:shown]:
        due = entry.due if not isinstance(entry.due, datetime) else plain_date(entry.due, reader_zone)
        what = entry.what
        if isinstance(what, Pending):
            thing = f"{what.initiative_key} {what.role_name} sign-off ({what.gate_name})"
        elif isinstance(what, OpenItem):
            thing = f"{what.key} {clip(what.text, 100)}"
        else:
            thing = f"{what.key} KPI actuals to record"
        behalf = f" for {mention(entry.on_behalf_of)} (delegated to you)" if entry.on_behalf_of else ""
        lines.append(f"• {thing}{behalf}, {'overdue since' if entry.overdue else 'due'} {due}")
    if len(entries) > shown:
        lines.append(f"…and {len(entries) - shown} more: the App Home's \"See all\" lists them.")
    return "\n".join(lines)


def todo_reply(entries: Sequence[Waits], *, reader_zone: ZoneInfo) -> Reply:
    """`/initiative todo`: the App Home's first section, privately."""
    return Reply(text=waiting_text(entries, reader_zone=reader_zone),
                 blocks=finish(waiting_blocks(entries, reader_zone=reader_zone), "message"))


def my_initiative_block(mine: MyInitiative, catalog: GateCatalog) -> Block:
    """An initiative the reader owns: stage and risk, what it waits for, and a button to open its card."""
    initiative, blockers = mine.initiative, mine.blockers
    lines = [initiative_line(initiative, catalog)]
    if mine.held_until is not None:
        lines.append(f"On hold until {day(mine.held_until)}")
    if blockers.sign_offs:
        gate = blockers.sign_offs[0].gate_name
        lines.append(f"{escape(gate)} waits on " + ", ".join(
            f"{escape(p.role_name)} ({mention(p.assignee)})" for p in blockers.sign_offs))
    for item in blockers.items[:5]:
        blocks_review = " — *blocks the next review*" if item.key in blockers.blocking else ""
        lines.append(f"{item.key} {mrkdwn(item.text, 120)} ({mention(item.owner)}), due {day(item.due_on)}"
                     f"{blocks_review}")
    if len(blockers.items) > 5:
        lines.append(f"…and {len(blockers.items) - 5} more open: `/initiative conditions {initiative.key}`")
    if len(lines) == 1 and initiative.status == "active":
        lines.append("Nothing waits on anyone.")
    return section("\n".join(lines), accessory=ButtonElement(
        text="Open", action_id=ids.VIEW_INITIATIVE, value=ids.initiative_key_value(initiative.key)))


def stalled_line(initiative: Initiative, catalog: GateCatalog, now: datetime) -> str:
    stage = catalog.stage(initiative.stage) if initiative.stage in {s.id for s in catalog.stages} else None
    threshold = f" (threshold {stage.stall_after_days})" if stage and stage.stall_after_days else ""
    return (f"*{initiative.key}* {mrkdwn(initiative.title, 120)} — {escape(stage_name(catalog, initiative.stage))} "
            f"for {days_in_stage(initiative, now)} days{threshold}")


def see_all(list_id: str, total: int) -> ActionsBlock:
    """The "See all" button under a list the Home cuts: it opens the whole list in a paged modal."""
    return ActionsBlock(block_id=f"more.{list_id}", elements=[
        ButtonElement(text=f"See all {total}", action_id=ids.DESK_MORE,
                      value=ids.desk_page_value(ids.DeskPage(list_id, 0)))])


# The "See all" modal, a page at a time.

TITLES = {ids.DESK_WAITING: "Waiting on me", ids.DESK_INITIATIVES: "My initiatives",
          ids.DESK_STALLED: "Stalled initiatives"}


def page_modal(page: ids.DeskPage, *, total: int, page_blocks: Sequence[Block], size: int) -> dict[str, Any]:
    """One page of a list (`page_blocks`: its items from `page.offset`), with Previous and Next."""
    last = max(0, (total - 1) // size)
    number = page.offset // size
    blocks: list[Block] = [context(f"{total} in all · page {number + 1} of {last + 1}"), *page_blocks]
    moves = [ButtonElement(text=text, action_id=action_id,
                           value=ids.desk_page_value(ids.DeskPage(page.list_id, offset)))
             for text, action_id, offset, shown in (("Previous", ids.DESK_PREVIOUS, page.offset - size, number > 0),
                                                    ("Next", ids.DESK_MORE, page.offset + size, number < last))
             if shown]
    if moves:
        blocks.append(ActionsBlock(block_id="desk.pages", elements=moves))
    view = View(type="modal", callback_id=ids.DESK_MODAL, title=TITLES[page.list_id],
                close="Close", blocks=finish(blocks, "modal"))
    return view.to_dict()


def waiting_page(entries: Sequence[Waits], page: ids.DeskPage, *, reader_zone: ZoneInfo) -> dict[str, Any]:
    shown = entries[page.offset:page.offset + PAGE_SIZE]
    blocks = [block for entry in shown for block in entry_blocks(entry, reader_zone)]
    if any(isinstance(entry.what, OpenItem) for entry in shown):
        blocks.append(context(CONDITION_HINT))
    return page_modal(page, total=len(entries), page_blocks=blocks or [section(NOTHING_WAITS)], size=PAGE_SIZE)


def initiatives_page(mine: Sequence[MyInitiative], page: ids.DeskPage, *, total: int,
                     catalog: GateCatalog) -> dict[str, Any]:
    """`mine`: this page's initiatives, from `page.offset`."""
    blocks = [my_initiative_block(m, catalog) for m in mine] or [section("You own no initiatives.")]
    return page_modal(page, total=total, page_blocks=blocks, size=PAGE_SIZE)


def stalled_page(stalled: Sequence[Initiative], page: ids.DeskPage, *, catalog: GateCatalog,
                 now: datetime) -> dict[str, Any]:
    lines = [stalled_line(i, catalog, now) for i in stalled[page.offset:page.offset + STALLED_PAGE]]
    blocks = [section("\n".join(lines[start:start + 10])) for start in range(0, len(lines), 10)]
    return page_modal(page, total=len(stalled), page_blocks=blocks or [section("No initiative is stalled.")],
                      size=STALLED_PAGE)


def funnel_line(counts: Mapping[str, int]) -> str:
    """Initiatives in progress per stage, in the stages' order: `Idea *4* → Pilot *3* → …`."""
    return " → ".join(f"{escape(name)} *{count}*" for name, count in counts.items())
