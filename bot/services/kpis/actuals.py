"""Actuals: measured values of a KPI over time, who recorded them and when, and how a KPI stands against its
target.

Owners (any role, the sponsor's too), whoever they delegated to while the delegation lasts, and admins record
actuals. One value per KPI and date: recording another
for the same date corrects it, and the audit trail keeps what it replaced. Every recording is audited
(`kpi.recorded`) and announced (`KpiRecorded`: the webhook `kpi.recorded`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.access.service import Actor, Audience, visible_to
from bot.services.audit.service import record_audit
from bot.services.errors import Conflict, InvalidInput
from bot.services.events import KpiRecorded, emit
from bot.services.kpis.definitions import find_kpi, format_measure, kpis_of, require_recorder
from bot.services.validation import KPI_UNIT_LIMIT, REASON, clean_text, parse_measure
from storage.models import Initiative, Kpi, KpiActual
from storage.types import utcnow

ON_TRACK, OFF_TRACK, NO_DATA = "on_track", "off_track", "no_data"
TREND_LENGTH = 3  # the last values `show` gives
VALUE_EXAMPLE = "a number with an optional unit or %, for example `3.9%`, `1200 EUR` or `350`"


@dataclass(frozen=True)
class Recorded:
    kpi: Kpi
    actual: KpiActual
    corrected: float | None  # the value it replaced for the same date, if any


@dataclass(frozen=True)
class Standing:
    """A KPI with its latest actuals (oldest first, at most `TREND_LENGTH`) and how it stands."""

    kpi: Kpi
    recent: tuple[KpiActual, ...]
    status: str  # on_track | off_track | no_data

    @property
    def latest(self) -> KpiActual | None:
        return self.recent[-1] if self.recent else None


def parse_value(text: str) -> tuple[float, str]:
    """A typed actual: a number with an optional unit or %. Anything else is refused with an example."""
    measure = parse_measure(text)
    if measure is None or not math.isfinite(measure[0]) or len(measure[1]) > KPI_UNIT_LIMIT:
        raise InvalidInput(f"`{text.strip() or ' '}` is not a value: give {VALUE_EXAMPLE}.", field="value")
    return measure


def record_actual(session: Session, *, actor: Actor, initiative: Initiative, value: str, kpi_name: str | None = None,
                  position: int | None = None, measured_on: date | None, today: date, note: str = "") -> Recorded:
    """Record (or, for a date that has one, correct) an actual of the initiative's KPI named `kpi_name`, or at
    `position` (its first KPI when neither). `today` is the actor's: a value measured in the future is refused."""
    behalf = require_recorder(session, actor=actor, initiative=initiative)
    kpi = find_kpi(kpis_of(session, initiative_id=initiative.id), kpi_name, position=position)
    number, unit = parse_value(value)
    if unit and kpi.unit and unit.casefold() != kpi.unit.casefold():
        raise InvalidInput(f"{kpi.name or 'The KPI'} is measured in `{kpi.unit}`, not `{unit}`: give a value like "
                           f"`{format_measure(kpi.target or kpi.baseline or 1, kpi.unit)}`.", field="value")
    if measured_on is None:
        raise InvalidInput("Pick the day it was measured.", field="measured_on")
    if measured_on > today:
        raise InvalidInput(f"{measured_on.isoformat()} is in the future; give the day it was measured.",
                           field="measured_on")
    note = clean_text(note, REASON)
    now = utcnow()
    if unit and not kpi.unit:
        kpi.unit, kpi.updated_at = unit, now  # the first actual with a unit names the KPI's unit
        session.add(kpi)
    actual = session.exec(select(KpiActual).where(KpiActual.kpi_id == kpi.id, KpiActual.measured_on == measured_on)
                          .with_for_update()).first()
    corrected = actual.value if actual is not None else None
    if actual is None:
        actual = KpiActual(team_id=initiative.team_id, kpi_id=kpi.id, measured_on=measured_on)
    actual.value, actual.note, actual.recorded_by, actual.recorded_at = number, note, actor.user_id, now
    try:
        with session.begin_nested():  # two people recording the same day at once: the second is told
            session.add(actual)
            session.flush()
    except IntegrityError:
        raise Conflict(f"A value of {kpi.name or 'the KPI'} for {measured_on.isoformat()} was recorded at the "
                       "same moment; look at `/initiative show` and correct it if needed.") from None
    after = {"kpi": kpi.name, "value": number, "unit": kpi.unit, "measured_on": measured_on.isoformat(), "note": note,
             **behalf}
    record_audit(session, team_id=initiative.team_id, actor=actor.user_id, action="kpi.recorded",
                 subject_type="initiative", subject_key=initiative.key, initiative_id=initiative.id,
                 before={"value": corrected} if corrected is not None else None, after=after, at=now)
    emit(session, KpiRecorded(team_id=initiative.team_id, actor=actor.user_id, initiative_id=initiative.id,
                              kpi_id=kpi.id, actual_id=actual.id, corrected=corrected is not None))
    return Recorded(kpi=kpi, actual=actual, corrected=corrected)


def standings(session: Session, *, kpis: Sequence[Kpi], today: date, stale_days: int) -> list[Standing]:
    """Each KPI with its last actuals and its status, as of `today`."""
    recent: dict[int, list[KpiActual]] = {kpi.id: [] for kpi in kpis}
    if recent:
        rows = session.exec(select(KpiActual).where(col(KpiActual.kpi_id).in_(recent))
                            .order_by(col(KpiActual.measured_on).desc()))
        for actual in rows:
            if len(recent[actual.kpi_id]) < TREND_LENGTH:
                recent[actual.kpi_id].append(actual)
    return [Standing(kpi=kpi, recent=tuple(reversed(recent[kpi.id])),
                     status=status_of(kpi, recent[kpi.id][0] if recent[kpi.id] else None, today=today,
                                      stale_days=stale_days))
            for kpi in kpis]


def status_of(kpi: Kpi, latest: KpiActual | None, *, today: date, stale_days: int) -> str:
    """no data: no actual measured within `stale_days` of today. on track: the latest actual is at or beyond the
    target in the KPI's direction (with no target: better than the baseline). off track: anything else."""
    if latest is None or (today - latest.measured_on) > timedelta(days=stale_days):
        return NO_DATA
    goal = kpi.target if kpi.target is not None else kpi.baseline
    if goal is None:
        return NO_DATA  # nothing to measure it against
    sign = 1 if kpi.direction == "higher" else -1
    reached = sign * (latest.value - goal) >= 0 if kpi.target is not None else sign * (latest.value - goal) > 0
    return ON_TRACK if reached else OFF_TRACK


def value_delivered(kpi: Kpi, latest: KpiActual | None) -> float | None:
    """(latest - baseline), positive when it moved the better way; None without both."""
    if latest is None or kpi.baseline is None:
        return None
    return (latest.value - kpi.baseline) * (1 if kpi.direction == "higher" else -1)


@dataclass(frozen=True)
class ExportedActual:
    initiative: Initiative
    kpi: Kpi
    actual: KpiActual


def export_actuals(session: Session, *, audience: Audience) -> Iterable[ExportedActual]:
    """Every actual the audience may see, by initiative, KPI and date."""
    query = (select(Initiative, Kpi, KpiActual)
             .join(Kpi, col(Kpi.initiative_id) == Initiative.id).join(KpiActual, col(KpiActual.kpi_id) == Kpi.id)
             .where(Initiative.team_id == audience.team_id, visible_to(audience))
             .order_by(col(Initiative.number), col(Kpi.position), col(KpiActual.measured_on)))
    for initiative, kpi, actual in session.exec(query):
        yield ExportedActual(initiative, kpi, actual)
