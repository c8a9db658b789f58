"""The portfolio by stage: what `list`, the demo and the digest show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.services.access.service import Audience, visible_to
from bot.services.gates.service import Stage, catalog_for
from storage.models import Initiative

# What lists show unless asked for all: not the killed and retired.
IN_PROGRESS = ("active", "paused", "held")


@dataclass(frozen=True)
class PortfolioItem:
    key: str
    title: str
    risk_tier: str
    status: str
    days_in_stage: int
    stalled: bool


@dataclass(frozen=True)
class StageColumn:
    stage: Stage
    initiatives: tuple[PortfolioItem, ...]


def days_in_stage(initiative: Initiative, now: datetime) -> int:
    return max(0, (now - initiative.stage_entered_at).days)


def is_stalled(initiative: Initiative, stage: Stage, now: datetime) -> bool:
    """Active initiatives past their stage's threshold are stalled; paused ones never are."""
    return (
        initiative.status == "active"
        and stage.stall_after_days is not None
        and days_in_stage(initiative, now) > stage.stall_after_days
    )


def portfolio_by_stage(session: Session, *, audience: Audience, now: datetime) -> list[StageColumn]:
    """Active, paused and held initiatives the audience may see, grouped by stage in the catalog's order."""
    catalog = catalog_for(session, team_id=audience.team_id)
    initiatives = session.exec(
        select(Initiative)
        .where(visible_to(audience), col(Initiative.status).in_(IN_PROGRESS))
        .order_by(col(Initiative.number))
    ).all()
    columns = []
    for stage in catalog.stages:
        items = tuple(
            PortfolioItem(key=i.key, title=i.title, risk_tier=i.risk_tier, status=i.status,
                          days_in_stage=days_in_stage(i, now), stalled=is_stalled(i, stage, now))
            for i in initiatives if i.stage == stage.id
        )
        columns.append(StageColumn(stage=stage, initiatives=items))
    return columns


def stalled_initiatives(session: Session, *, audience: Audience, now: datetime) -> list[Initiative]:
    """Active initiatives the audience may see, longer in their stage than its threshold (newest definition),
    longest first."""
    catalog = catalog_for(session, team_id=audience.team_id)
    thresholds = {stage.id: stage for stage in catalog.stages if stage.stall_after_days is not None}
    if not thresholds:
        return []
    candidates = session.exec(
        select(Initiative).where(visible_to(audience), Initiative.status == "active",
                                 col(Initiative.stage).in_(thresholds))
    ).all()
    stalled = [i for i in candidates if is_stalled(i, thresholds[i.stage], now)]
    return sorted(stalled, key=lambda i: (i.stage_entered_at, i.number))
