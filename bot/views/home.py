"""The App Home tab: the person's pending sign-offs (with their buttons), the conditions they are to meet, and the
initiatives they own."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement
from slack_sdk.models.views import View

from bot.services.gates.catalog import GateCatalog
from bot.services.kpis.scheduled import KpiUpdateDue
from bot.services.reviews.service import PendingSignOff
from bot.services.waiting.service import OpenItem
from bot.views import ids
from bot.views.blocks import context, divider, finish, header, more_line, section
from bot.views.kpis import kpi_request_blocks
from bot.views.outcomes import day
from bot.views.replies import initiative_line, stage_name
from bot.views.text import escape, mrkdwn, slack_date
from storage.models import Initiative

PENDING_SHOWN = 20  # 2 blocks each
CONDITIONS_SHOWN = 20  # 10 lines per section
KPI_REQUESTS_SHOWN = 5  # 1 block each, and 2 around them
INITIATIVES_SHOWN = 40  # 10 lines per section


def home(
    *,
    pending: Sequence[PendingSignOff],
    role_names: dict[str, str],
    conditions: Sequence[OpenItem] = (),
    overdue: Collection[str] = (),
    kpi_updates: Sequence[KpiUpdateDue] = (),
    initiatives: Sequence[Initiative],
    initiatives_total: int,
    catalog: GateCatalog,
) -> dict[str, Any]:
    blocks: list[Block] = [header("Your sign-offs")]
    if not pending:
        blocks.append(section("No sign-off waits for you." if conditions or kpi_updates
                              else "Nothing waits for you. 🎉"))
    for item in pending[:PENDING_SHOWN]:
        initiative, sign_off = item.initiative, item.sign_off
        to_stage = stage_name(catalog, item.review.to_stage)
        role = role_names.get(sign_off.role, sign_off.role)
        paused = " · _paused_" if initiative.status == "paused" else ""
        blocks.append(section(f"*{initiative.key}* {mrkdwn(initiative.title, 150)}{paused}\n"
                              f"{escape(role)} sign-off to move to {escape(to_stage)}, requested "
                              f"{slack_date(sign_off.requested_at)}"))
        value = ids.sign_off_value(sign_off.id)
        blocks.append(ActionsBlock(block_id=f"pending.{sign_off.id}", elements=[
            ButtonElement(text="Approve", action_id=ids.APPROVE, value=value, style="primary"),
            ButtonElement(text="Request changes", action_id=ids.REQUEST_CHANGES, value=value),
        ]))
    more = more_line(min(len(pending), PENDING_SHOWN), len(pending), "Decide these first; the rest follow.")
    if more:
        blocks.append(context(escape(more)))
    if conditions:
        blocks += [divider(), header("Your conditions")]
        lines = [_condition_line(item, late=item.key in overdue) for item in conditions[:CONDITIONS_SHOWN]]
        for start in range(0, len(lines), 10):
            blocks.append(section("\n".join(lines[start:start + 10])))
        more = more_line(len(lines), len(conditions), "`/initiative conditions mine` lists them all.")
        blocks.append(context((f"{escape(more)} " if more else "")
                              + "Met? `/initiative condition met <id> <evidence or link>` closes one."))
    if kpi_updates:
        blocks += [divider(), *kpi_request_blocks(kpi_updates, shown=KPI_REQUESTS_SHOWN, block_id_prefix="home.kpi.")]
    blocks += [divider(), header("Your initiatives")]
    shown = list(initiatives[:INITIATIVES_SHOWN])
    lines = [initiative_line(i, catalog) for i in shown]
    if not lines:
        blocks.append(section("You own no initiatives yet. `/initiative new` records one."))
    for start in range(0, len(lines), 10):
        blocks.append(section("\n".join(lines[start:start + 10])))
    more = more_line(len(shown), initiatives_total, "`/initiative list mine` lists them all.")
    if more:
        blocks.append(context(escape(more)))
    return View(type="home", blocks=finish(blocks, "home")).to_dict()


def _condition_line(item: OpenItem, *, late: bool) -> str:
    due = f":red_circle: *overdue* since {day(item.due_on)}" if late else f"due {day(item.due_on)}"
    return (f"*{item.key}* {mrkdwn(item.text, 200)} — {item.initiative_key} {mrkdwn(item.initiative_title, 80)}"
            f" · {due}")
