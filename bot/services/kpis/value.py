"""The value live initiatives deliver, for the weekly digest: each KPI of each active initiative in Production or
later, its latest actual against its target, and the value delivered in each currency.

- Status (`actuals.status_of`): no data when no actual was measured within the stage's `kpi_stale_days` (45 by
  default) of the digest's day; on track when the latest actual is at or beyond the target in the KPI's
  direction; off track otherwise.
- Value delivered, for a KPI whose unit is a currency (an ISO 4217 code, three capital letters such as EUR):
  latest actual minus baseline, negated when lower is better. Summed per currency, never across currencies, and
  never annualised; a KPI without a baseline or an actual adds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from bot.services.gates.service import catalog_for
from bot.services.kpis.actuals import standings, value_delivered
from storage.models import Initiative, Kpi

_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class ValueRow:
    key: str
    title: str
    stage_name: str
    kpi_name: str
    unit: str
    direction: str
    status: str  # on_track | off_track | no_data
    latest: float | None
    latest_on: date | None
    baseline: float | None
    target: float | None
    delivered: float | None  # currency KPIs only: latest - baseline, signed by direction


@dataclass(frozen=True)
class ValueTotal:
    currency: str
    amount: float
    kpis: int  # how many KPIs it sums


def is_currency(unit: str) -> bool:
    return bool(_CURRENCY.match(unit))


def live_value(session: Session, *, team_id: str, initiative_ids: Collection[int], today: date) -> list[ValueRow]:
    """Every KPI of the given initiatives that are active and in Production or later, by key and KPI."""
    catalog = catalog_for(session, team_id=team_id)
    live = [stage.id for stage in catalog.stages if catalog.is_live(stage.id)]
    if not live or not initiative_ids:
        return []
    rows = session.exec(select(Initiative, Kpi).join(Kpi, col(Kpi.initiative_id) == Initiative.id)
                        .where(col(Initiative.id).in_(list(initiative_ids)), Initiative.status == "active",
                               col(Initiative.stage).in_(live))
                        .order_by(col(Initiative.number), col(Kpi.position))).all()
    by_stage: dict[str, list[Kpi]] = {}
    for initiative, kpi in rows:
        by_stage.setdefault(initiative.stage, []).append(kpi)
    found = {standing.kpi.id: standing for stage_id, kpis in by_stage.items()  # one query per live stage
             for standing in standings(session, kpis=kpis, today=today,
                                       stale_days=catalog.stage(stage_id).kpi_stale_days)}
    result = []
    for initiative, kpi in rows:
        standing = found[kpi.id]
        latest = standing.latest
        result.append(ValueRow(
            key=initiative.key, title=initiative.title, stage_name=catalog.stage(initiative.stage).name,
            kpi_name=kpi.name or "KPI", unit=kpi.unit, direction=kpi.direction, status=standing.status,
            latest=latest.value if latest else None, latest_on=latest.measured_on if latest else None,
            baseline=kpi.baseline, target=kpi.target,
            delivered=value_delivered(kpi, latest) if is_currency(kpi.unit) else None))
    return result


def totals(rows: Sequence[ValueRow]) -> tuple[ValueTotal, ...]:
    """Value delivered per currency, largest first."""
    sums: dict[str, list[float]] = {}
    for row in rows:
        if row.delivered is not None:
            sums.setdefault(row.unit, []).append(row.delivered)
    return tuple(sorted((ValueTotal(currency=unit, amount=sum(values), kpis=len(values))
                         for unit, values in sums.items()), key=lambda total: -abs(total.amount)))
