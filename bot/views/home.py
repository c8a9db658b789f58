"""The App Home tab, each person's desk: "Waiting on me" (bot.views.desk, the same as `/initiative todo`), "My
initiatives" with what blocks each and, for admins, the portfolio: its funnel, its stalled initiatives and a "New
initiative" button. A list longer than the Home shows ends with "See all", which pages it in a modal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement
from slack_sdk.models.views import View

from bot.services.gates.service import GateCatalog
from bot.services.waiting.service import Waits
from bot.views import ids
from bot.views.blocks import divider, finish, header, section
from bot.views.desk import MyInitiative, funnel_line, my_initiative_block, see_all, stalled_line, waiting_blocks
from storage.models import Initiative

# At most 33 blocks for what waits, 18 for the initiatives and 7 for the portfolio: well within Slack's 100.
INITIATIVES_SHOWN = 15  # 1 block each
STALLED_SHOWN = 5  # lines of one section


@dataclass(frozen=True)
class Portfolio:
    """What an admin's Home adds: initiatives in progress per stage (name -> count, in the stages' order), and
    the stalled ones, longest first."""

    funnel: Mapping[str, int]
    stalled: Sequence[Initiative]


def home(
    *,
    waiting: Sequence[Waits],
    reader_zone: ZoneInfo,
    initiatives: Sequence[MyInitiative],
    initiatives_total: int,
    catalog: GateCatalog,
    portfolio: Portfolio | None = None,
    now: datetime,
) -> dict[str, Any]:
    """`initiatives`: the first of those the reader owns (up to INITIATIVES_SHOWN), of `initiatives_total`;
    `portfolio`: for admins only."""
    blocks: list[Block] = waiting_blocks(waiting, reader_zone=reader_zone)
    blocks += [divider(), header(f"My initiatives ({initiatives_total})" if initiatives_total else "My initiatives")]
    if not initiatives:
        blocks.append(section("You own no initiatives yet. `/initiative new` records one."))
    blocks += [my_initiative_block(mine, catalog) for mine in initiatives[:INITIATIVES_SHOWN]]
    if initiatives_total > INITIATIVES_SHOWN:
        blocks.append(see_all(ids.DESK_INITIATIVES, initiatives_total))
    if portfolio is not None:
        blocks += _portfolio_blocks(portfolio, catalog, now)
    return View(type="home", blocks=finish(blocks, "home")).to_dict()


def _portfolio_blocks(portfolio: Portfolio, catalog: GateCatalog, now: datetime) -> list[Block]:
    in_progress = sum(portfolio.funnel.values())
    blocks: list[Block] = [divider(), header("Portfolio"),
                           section(f"*Funnel* ({in_progress} in progress)\n{funnel_line(portfolio.funnel)}")]
    stalled = portfolio.stalled
    if stalled:
        lines = [stalled_line(initiative, catalog, now) for initiative in stalled[:STALLED_SHOWN]]
        blocks.append(section(f"*Stalled* ({len(stalled)}: longer in their stage than its threshold)\n"
                              + "\n".join(lines)))
    else:
        blocks.append(section("*Stalled*\nNone: every initiative is within its stage's threshold."))
    if len(stalled) > STALLED_SHOWN:
        blocks.append(see_all(ids.DESK_STALLED, len(stalled)))
    blocks.append(ActionsBlock(block_id="portfolio.actions", elements=[
        ButtonElement(text="New initiative", action_id=ids.NEW_INITIATIVE, style="primary")]))
    return blocks
