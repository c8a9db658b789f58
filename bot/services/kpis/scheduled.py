"""Who is due to record KPI actuals, and the record that they were asked.

The business owner of each active initiative in Production or later that has a KPI is asked every
`kpi_every_days` of its stage (30 by default), counted from the latest of: the day it entered that stage, the day
an actual was last recorded, the day they were last asked. The request is part of "what waits on a person"
(bot/services/waiting), so it goes out in the nudge sweep's one consolidated DM, on a working day in working hours
in their zone; the sweep writes the `kpi_reminder` row (unique on initiative and due date) with the DM's outbox row,
inside a savepoint, so two replicas never ask twice.

A business owner whose Slack account is deactivated is asked nothing: as for their sign-offs and conditions, the
sponsor and admins are asked to reassign the role when Slack says so (`kpis_asked_of`, bot/notifications.py), and
its new owner is asked from then on.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.access.service import deactivated
from bot.services.gates.service import GateCatalog, catalog_for
from storage.models import Initiative, Kpi, KpiActual, KpiReminder, OwnerAssignment

ASKED_ROLE = "business"


@dataclass(frozen=True)
class KpiUpdateDue:
    """A live initiative whose KPI actuals are due from its business owner."""

    team_id: str
    initiative_id: int
    key: str
    title: str
    kpi_names: tuple[str, ...]
    due_on: date
    recipient: str


def kpi_updates_due(session: Session, *, team_id: str, today: date, user_ids: Collection[str] | None = None,
                    to_ask: bool = True) -> list[KpiUpdateDue]:
    """The initiatives whose actuals are due on or before `today`, from any of `user_ids` (everyone's when None).
    `to_ask`: those to ask for now (being asked starts the next period); False: every one still outstanding,
    asked or not (what an owner's App Home lists until they record). Never a deactivated owner's."""
    catalog = catalog_for(session, team_id=team_id)
    found, names = _asked(session, team_id=team_id, catalog=catalog, user_ids=user_ids, of_active_people=True)
    ids = [initiative.id for initiative, _ in found]
    if not ids:
        return []
    recorded = dict(session.exec(
        select(Kpi.initiative_id, func.max(KpiActual.recorded_at)).join(KpiActual, col(KpiActual.kpi_id) == Kpi.id)
        .where(col(Kpi.initiative_id).in_(ids)).group_by(col(Kpi.initiative_id))).all())
    asked = dict(session.exec(select(KpiReminder.initiative_id, func.max(KpiReminder.due_on))
                              .where(col(KpiReminder.initiative_id).in_(ids))
                              .group_by(col(KpiReminder.initiative_id))).all()) if to_ask else {}
    due = []
    for initiative, owner in found:
        since = max(d for d in (_day(initiative.stage_entered_at), _day(recorded.get(initiative.id)),
                                asked.get(initiative.id)) if d is not None)
        due_on = since + timedelta(days=catalog.stage(initiative.stage).kpi_every_days)
        if due_on <= today:
            due.append(KpiUpdateDue(team_id=team_id, initiative_id=initiative.id, key=initiative.key,
                                    title=initiative.title, kpi_names=tuple(names[initiative.id]), due_on=due_on,
                                    recipient=owner))
    return due


def kpis_asked_of(session: Session, *, team_id: str, user_id: str) -> list[tuple[Initiative, tuple[str, ...]]]:
    """The live initiatives whose KPI actuals `user_id` is the one asked for (now or when next due), each with its
    KPIs' names, deactivated or not: what waits for a new business owner when their account is deactivated."""
    found, names = _asked(session, team_id=team_id, catalog=catalog_for(session, team_id=team_id), user_ids=[user_id],
                          of_active_people=False)
    return [(initiative, tuple(names[initiative.id])) for initiative, _ in found]


def _asked(session: Session, *, team_id: str, catalog: GateCatalog, user_ids: Collection[str] | None,
           of_active_people: bool) -> tuple[list[tuple[Initiative, str]], dict[int, list[str]]]:
    """(initiative, business owner) of the active initiatives in a live stage with a KPI, by number; and their KPIs'
    names by initiative id."""
    live = [stage.id for stage in catalog.stages if catalog.is_live(stage.id)]
    if not live:
        return [], {}
    query = (select(Initiative, OwnerAssignment.user_id)
             .join(OwnerAssignment, (col(OwnerAssignment.initiative_id) == Initiative.id)
                   & (OwnerAssignment.role == ASKED_ROLE))
             .where(Initiative.team_id == team_id, Initiative.status == "active", col(Initiative.stage).in_(live))
             .order_by(col(Initiative.number)))
    if user_ids is not None:
        query = query.where(col(OwnerAssignment.user_id).in_(sorted(user_ids)))
    if of_active_people:
        query = query.where(~deactivated(team_id, OwnerAssignment.user_id))
    found = list(session.exec(query))
    if not found:
        return [], {}
    names: dict[int, list[str]] = {}
    for initiative_id, name in session.exec(
            select(Kpi.initiative_id, Kpi.name).where(col(Kpi.initiative_id).in_([i.id for i, _ in found]))
            .order_by(col(Kpi.position))):
        names.setdefault(initiative_id, []).append(name or "KPI")
    return [(initiative, owner) for initiative, owner in found if initiative.id in names], names


def _day(moment: datetime | None) -> date | None:
    return moment.astimezone(UTC).date() if moment is not None else None


def record_reminded(session: Session, due: KpiUpdateDue) -> bool:
    """Record that the owner was asked for this initiative's actuals this period (the nudge sweep does, with the DM
    that lists it); False if it was already recorded (by another replica)."""
    try:
        with session.begin_nested():
            session.add(KpiReminder(team_id=due.team_id, initiative_id=due.initiative_id, due_on=due.due_on,
                                    recipient=due.recipient))
            session.flush()
    except IntegrityError:
        return False
    return True
