"""What an initiative measures: its KPIs, each with a unit, a direction, a baseline and a target.

The first KPI (position 0) is the one the initiative form and the portfolio's `kpi_name`, `kpi_baseline` and
`kpi_target` columns describe, as texts; a number is read from a text only where it is unambiguous
(`bot.services.validation.parse_measure`), and the text is kept as typed, so nothing a person wrote is lost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import Session, col, select

from bot.services.access.service import Actor, acting_for, on_behalf
from bot.services.audit.service import record_audit
from bot.services.errors import InvalidInput, NotFound, PermissionDenied
from bot.services.validation import KPI_BASELINE, KPI_NAME, KPI_TARGET, KPI_UNIT_LIMIT, clean_text, parse_measure
from storage.models import Initiative, Kpi, OwnerAssignment
from storage.types import utcnow

FIRST_KPI_FIELDS = ("kpi_name", "kpi_baseline", "kpi_target")
MAX_KPIS = 10  # per initiative: what a show card and a digest row can carry


def kpis_of(session: Session, *, initiative_id: int) -> list[Kpi]:
    return list(session.exec(select(Kpi).where(Kpi.initiative_id == initiative_id).order_by(col(Kpi.position))))


def first_kpi_texts(kpi: Kpi | None) -> dict[str, str]:
    """The first KPI as the form and the portfolio file show it: `kpi_name`, `kpi_baseline`, `kpi_target`."""
    if kpi is None:
        return dict.fromkeys(FIRST_KPI_FIELDS, "")
    return {"kpi_name": kpi.name, "kpi_baseline": kpi.baseline_text or format_measure(kpi.baseline, kpi.unit),
            "kpi_target": kpi.target_text or format_measure(kpi.target, kpi.unit)}


def clean_first_kpi_texts(texts: dict[str, object]) -> dict[str, str]:
    """The form's or file's KPI texts, checked by the rules every surface uses."""
    rules = {"kpi_name": KPI_NAME, "kpi_baseline": KPI_BASELINE, "kpi_target": KPI_TARGET}
    return {name: clean_text(str(value or ""), rules[name]) for name, value in texts.items() if name in rules}


def set_first_kpi(session: Session, *, team_id: str, initiative_id: int, texts: dict[str, str],
                  now: datetime | None = None) -> Kpi | None:
    """Create or change the first KPI from its texts (clean ones: `clean_first_kpi_texts`); the texts not given
    stay. Numbers, unit and direction follow from the texts wherever they say them unambiguously."""
    now = now or utcnow()
    kpi = session.exec(select(Kpi).where(Kpi.initiative_id == initiative_id, Kpi.position == 0)).first()
    if kpi is None:
        if not any(texts.values()):
            return None
        kpi = Kpi(team_id=team_id, initiative_id=initiative_id, position=0, created_at=now)
    merged = {**first_kpi_texts(kpi), **texts}
    kpi.name, kpi.baseline_text, kpi.target_text = merged["kpi_name"], merged["kpi_baseline"], merged["kpi_target"]
    kpi.updated_at = now
    _read_numbers(kpi)
    session.add(kpi)
    session.flush()
    return kpi


def first_kpi_rows(*, team_id: str, initiative_id: int, texts: dict[str, str], now: datetime) -> list[dict]:
    """The first KPI as a row for a bulk insert (the portfolio import), or none when every text is empty."""
    if not any(texts.values()):
        return []
    kpi = Kpi(team_id=team_id, initiative_id=initiative_id, position=0, name=texts.get("kpi_name", ""),
              baseline_text=texts.get("kpi_baseline", ""), target_text=texts.get("kpi_target", ""),
              created_at=now, updated_at=now)
    _read_numbers(kpi)
    return [kpi.model_dump(exclude={"id"})]


def _read_numbers(kpi: Kpi) -> None:
    baseline, target = parse_measure(kpi.baseline_text), parse_measure(kpi.target_text)
    units = {measure[1] for measure in (baseline, target) if measure is not None}
    if len(units) != 1:  # neither text is a number, or they disagree on the unit: only the texts say anything
        kpi.baseline = kpi.target = None
        return
    kpi.unit = units.pop()
    kpi.baseline, kpi.target = (baseline[0] if baseline else None), (target[0] if target else None)
    if kpi.baseline is not None and kpi.target is not None:
        kpi.direction = "lower" if kpi.target < kpi.baseline else "higher"


def define_kpi(session: Session, *, actor: Actor, initiative: Initiative, name: str, baseline: str, target: str,
               direction: str | None = None, target_date: date | None = None, now: datetime | None = None) -> Kpi:
    """Add a KPI, or change the one of that name: baseline and target are measures (`4.2%`, `EUR 1200`). The
    initiative's owners (or their delegates), its sponsor and admins may."""
    behalf = require_recorder(session, actor=actor, initiative=initiative)
    team_id, initiative_id = initiative.team_id, initiative.id
    now = now or utcnow()
    name = clean_text(name, KPI_NAME)
    if not name:
        raise InvalidInput('Name the KPI in quotes, for example `"Monthly churn" baseline=4.2% target=3.5%`.')
    measures = {label: _measure(text, label) for label, text in (("baseline", baseline), ("target", target))}
    units = {unit for _, unit in measures.values()}
    if len(units) != 1:
        raise InvalidInput(f"The baseline is in `{measures['baseline'][1] or 'no unit'}` but the target in "
                           f"`{measures['target'][1] or 'no unit'}`; give both in the same unit.")
    kpis = kpis_of(session, initiative_id=initiative_id)
    kpi = find_kpi(kpis, name) if any(k.name.casefold() == name.casefold() for k in kpis) else None
    if kpi is None:
        if len(kpis) >= MAX_KPIS:
            raise InvalidInput(f"An initiative has at most {MAX_KPIS} KPIs.")
        position = max((k.position for k in kpis), default=-1) + 1
        kpi = Kpi(team_id=team_id, initiative_id=initiative_id, position=position, created_at=now)
    (kpi.baseline, _), (kpi.target, _) = measures["baseline"], measures["target"]
    kpi.name, kpi.unit, kpi.target_date, kpi.updated_at = name, units.pop(), target_date, now
    kpi.baseline_text, kpi.target_text = clean_text(baseline, KPI_BASELINE), clean_text(target, KPI_TARGET)
    kpi.direction = direction or ("lower" if kpi.target < kpi.baseline else "higher")
    session.add(kpi)
    session.flush()
    record_audit(session, team_id=team_id, actor=actor.user_id, action="kpi.defined", subject_type="initiative",
                 subject_key=initiative.key, initiative_id=initiative_id, at=now,
                 after={"kpi": kpi.name, "unit": kpi.unit, "direction": kpi.direction, "baseline": kpi.baseline,
                        "target": kpi.target, "target_date": target_date.isoformat() if target_date else None,
                        **behalf})
    return kpi


def require_recorder(session: Session, *, actor: Actor, initiative: Initiative) -> dict[str, str]:
    """Owners (the sponsor is one), whoever one of them delegated to while the delegation lasts, and admins define
    and record KPIs. Returns what the audit entry adds for a delegate (`on_behalf_of`)."""
    owners = set(session.exec(select(OwnerAssignment.user_id).where(OwnerAssignment.initiative_id == initiative.id)))
    acting_as = acting_for(session, actor=actor, people=owners, now=utcnow())
    if acting_as is None and not actor.is_admin:
        raise PermissionDenied(f"Only {initiative.key}'s owners (or their delegates), its sponsor or an admin "
                               "can record its KPIs.")
    return on_behalf(actor, acting_as)


def find_kpi(kpis: Sequence[Kpi], name: str | None, *, position: int | None = None) -> Kpi:
    """The KPI of that name (any case) or position (a modal's choice), or the first when neither is given."""
    if not kpis:
        raise NotFound("This initiative has no KPI yet. Define one with "
                       '`/initiative kpi <KEY> define "Monthly churn" baseline=4.2% target=3.5%`.')
    if position is not None:
        return next((kpi for kpi in kpis if kpi.position == position), kpis[0])
    if name is None:
        return kpis[0]
    for kpi in kpis:
        if kpi.name.casefold() == name.strip().casefold():
            return kpi
    known = ", ".join(f'"{kpi.name}"' for kpi in kpis if kpi.name)
    raise NotFound(f'There is no KPI "{name}" on this initiative. Its KPIs: {known or "one without a name"}.')


def _measure(text: str, label: str) -> tuple[float, str]:
    measure = parse_measure(text)
    if measure is None or not math.isfinite(measure[0]) or len(measure[1]) > KPI_UNIT_LIMIT:
        raise InvalidInput(f"The {label} `{text}` is not a number; write it like `4.2%`, `1200 EUR` or `350`.")
    return measure


def format_measure(value: float | None, unit: str) -> str:
    """`4.2%`, `1200 EUR`, `350`: as people write measures; empty when there is no value."""
    if value is None:
        return ""
    number = f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) >= 1000 else f"{value:.4g}"
    if not unit:
        return number
    return f"{number}{unit}" if unit == "%" else f"{number} {unit}"
