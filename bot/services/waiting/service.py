"""What waits on a person, defined once: the nudges, `show`, the App Home and the digest all read it here.

- a pending sign-off of an open review of an active initiative, waiting on its assignee;
- an open tracked item of an active initiative, waiting on its owner: a Conditional Go's condition, or an
  expired waiver (bot/services/tracked_items, whose kinds this lists alike);
- KPI actuals due from a live initiative's business owner (bot/services/kpis/scheduled.py), when asked with
  `kpis_due_by`.

Each comes with what a reminder, an escalation or a list needs: the gate's reminder cadence (the newest gate
definition's), and whom to escalate to (the sponsor, or else the business owner). Reads are a fixed number of
queries per workspace, never one per person.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select
from sqlmodel import Session, col, select

from bot.services.access.service import Audience, deactivated, visible_to
from bot.services.gates.service import Gate, GateCatalog
from bot.services.kpis.scheduled import KpiUpdateDue, kpi_updates_due
from bot.services.tracked_items.service import ItemKey
from storage.models import GateReview, Initiative, OwnerAssignment, SignOff, TrackedItem

ESCALATE_TO_ROLES = ("sponsor", "business")  # the first one held is told


@dataclass(frozen=True)
class Pending:
    """One pending sign-off, with what the policy and the message need to know about it."""

    sign_off_id: int
    initiative_key: str
    initiative_title: str
    gate_name: str
    role: str
    role_name: str
    assignee: str
    requested_at: datetime
    sla_business_days: int
    nudge_first_after: int = 2
    nudge_every: int = 2
    escalate_to: str | None = None  # the sponsor, or else the business owner
    gate_slug: str = ""  # its review's gate: a re-attestation's starts with REATTEST_PREFIX


@dataclass(frozen=True)
class OpenItem:
    """One open condition or expired waiver: due by 17:00 in its owner's zone on `due_on`."""

    item_id: int
    kind: str  # condition | waiver
    key: str  # AI-7-C1
    initiative_id: int
    initiative_key: str
    initiative_title: str
    gate_name: str
    text: str
    owner: str
    due_on: date
    created_at: datetime
    nudge_first_after: int = 2
    nudge_every: int = 2
    escalate_to: str | None = None
    gate_slug: str = ""  # the gate that set it: whether it blocks the next review (tracked_items)


@dataclass(frozen=True)
class Waiting:
    sign_offs: list[Pending]
    items: list[OpenItem]
    kpi_updates: list[KpiUpdateDue] = field(default_factory=list)

    def people(self) -> set[str]:
        return {p.assignee for p in self.sign_offs} | {i.owner for i in self.items} | {
            k.recipient for k in self.kpi_updates}


def what_waits(session: Session, *, team_id: str, catalog: GateCatalog, people: Collection[str] | None = None,
               initiative_ids: Iterable[int] | None = None, audience: Audience | None = None,
               kpis_due_by: date | None = None) -> Waiting:
    """Everything waiting on someone in a workspace (on any of `people`, on `initiative_ids`, on initiatives
    `audience` may see), oldest first (sign-offs) and soonest due first (items); with `kpis_due_by`, also the KPI
    actuals to ask for by that day (`kpi_requests`)."""
    ids = None if initiative_ids is None else list(initiative_ids)
    seen = _seen_by(audience)
    kpis = [] if kpis_due_by is None else [
        due for due in kpi_requests(session, team_id=team_id, due_by=kpis_due_by, people=people)
        if ids is None or due.initiative_id in ids]
    return Waiting(
        sign_offs=_pending_sign_offs(session, team_id=team_id, catalog=catalog, people=people, ids=ids, seen=seen),
        items=_open_items(session, team_id=team_id, catalog=catalog, people=people, ids=ids, seen=seen,
                          of_active_people=True),
        kpi_updates=kpis)


def open_items(session: Session, *, team_id: str, catalog: GateCatalog, audience: Audience | None = None
               ) -> list[OpenItem]:
    """What waits, its open conditions and expired waivers alone: for readers that have the sign-offs already.
    These include a deactivated owner's, which still count (the digest's Conditions line) until reassigned."""
    return _open_items(session, team_id=team_id, catalog=catalog, people=None, ids=None, seen=_seen_by(audience))


def kpi_requests(session: Session, *, team_id: str, due_by: date, people: Collection[str] | None = None,
                 to_ask: bool = True) -> list[KpiUpdateDue]:
    """The KPI actuals a live initiative's business owner (one of `people`, if given) is asked for by `due_by`:
    those to ask for now, or with `to_ask=False` every one still outstanding, asked or not. Business owners see
    their own initiatives (and their delegates see them while the delegation lasts), so no audience narrows
    these."""
    return kpi_updates_due(session, team_id=team_id, today=due_by, user_ids=people, to_ask=to_ask)


def _seen_by(audience: Audience | None) -> list[ColumnElement[bool]]:
    return [] if audience is None else [visible_to(audience)]


def _pending_sign_offs(session: Session, *, team_id: str, catalog: GateCatalog, people: Collection[str] | None,
                       ids: list[int] | None, seen: list[ColumnElement[bool]]) -> list[Pending]:
    """Cadence comes from the newest definition (an admin's change applies to reviews already open); the SLA
    from the version the review is pinned to."""
    where: list[ColumnElement[bool]] = [SignOff.team_id == team_id, SignOff.state == "pending",
                                        GateReview.state == "open", Initiative.status == "active", *seen,
                                        # A deactivated owner's wait on the sponsor and admins to reassign them.
                                        ~deactivated(team_id, SignOff.assignee)]
    if people is not None:
        where.append(col(SignOff.assignee).in_(sorted(people)))
    if ids is not None:
        where.append(col(Initiative.id).in_(ids))
    # Columns, not entities: a sweep reads thousands of rows, and the JSON columns it does not need are costly.
    rows = session.exec(
        select(SignOff.id, SignOff.role, SignOff.assignee, SignOff.requested_at, GateReview.gate_slug,
               GateReview.sla_business_days, Initiative.id, Initiative.number, Initiative.title)
        .join(GateReview, col(GateReview.id) == SignOff.review_id)
        .join(Initiative, col(Initiative.id) == GateReview.initiative_id)
        .where(*where).order_by(col(SignOff.requested_at), col(SignOff.id))
    ).all()
    holders = _escalation_holders(session, team_id=team_id, initiative_ids=(
        select(GateReview.initiative_id).join(SignOff, col(SignOff.review_id) == GateReview.id)
        .join(Initiative, col(Initiative.id) == GateReview.initiative_id).where(*where)))
    result = []
    for sign_off_id, role, assignee, requested_at, gate_slug, sla, initiative_id, number, title in rows:
        gate = _gate(catalog, gate_slug)
        result.append(Pending(
            sign_off_id=sign_off_id, initiative_key=f"AI-{number}", initiative_title=title, gate_name=gate.name,
            role=role, role_name=catalog.role_name(role), assignee=assignee, requested_at=requested_at,
            sla_business_days=sla, nudge_first_after=gate.nudge_first_after, nudge_every=gate.nudge_every,
            escalate_to=holders.get(initiative_id), gate_slug=gate_slug,
        ))
    return result


def _open_items(session: Session, *, team_id: str, catalog: GateCatalog, people: Collection[str] | None,
                ids: list[int] | None, seen: list[ColumnElement[bool]],
                of_active_people: bool = False) -> list[OpenItem]:
    where: list[ColumnElement[bool]] = [TrackedItem.team_id == team_id, TrackedItem.state == "open",
                                        Initiative.status == "active", *seen]
    if of_active_people:  # as for sign-offs: a deactivated owner's wait on the sponsor and admins to reassign them
        where.append(~deactivated(team_id, TrackedItem.owner))
    if people is not None:
        where.append(col(TrackedItem.owner).in_(sorted(people)))
    if ids is not None:
        where.append(col(Initiative.id).in_(ids))
    rows = session.exec(
        select(TrackedItem.id, TrackedItem.kind, TrackedItem.number, TrackedItem.gate_slug, TrackedItem.text,
               TrackedItem.owner, TrackedItem.due_on, TrackedItem.created_at, Initiative.id, Initiative.number,
               Initiative.title)
        .join(Initiative, col(Initiative.id) == TrackedItem.initiative_id)
        .where(*where).order_by(col(TrackedItem.due_on), col(TrackedItem.id))
    ).all()
    holders = _escalation_holders(session, team_id=team_id, initiative_ids=(
        select(TrackedItem.initiative_id).join(Initiative, col(Initiative.id) == TrackedItem.initiative_id)
        .where(*where)))
    result = []
    for item_id, kind, number, gate_slug, text, owner, due_on, created_at, initiative_id, key_number, title in rows:
        gate = _gate(catalog, gate_slug)
        result.append(OpenItem(
            item_id=item_id, kind=kind, key=str(ItemKey(key_number, kind, number)), initiative_id=initiative_id,
            initiative_key=f"AI-{key_number}",
            initiative_title=title, gate_name=gate.name, text=text, owner=owner, due_on=due_on,
            created_at=created_at, nudge_first_after=gate.nudge_first_after, nudge_every=gate.nudge_every,
            escalate_to=holders.get(initiative_id), gate_slug=gate_slug,
        ))
    return result


def people_waited_on(session: Session, *, team_id: str, kpis_due_by: date | None = None) -> set[str]:
    """Everyone `what_waits` would name, without reading the rows: for a sweep's look-ups of their time zones."""
    assignees = session.exec(
        select(SignOff.assignee).join(GateReview, col(GateReview.id) == SignOff.review_id)
        .join(Initiative, col(Initiative.id) == GateReview.initiative_id)
        .where(SignOff.team_id == team_id, SignOff.state == "pending", GateReview.state == "open",
               Initiative.status == "active").distinct()).all()
    owners = session.exec(
        select(TrackedItem.owner).join(Initiative, col(Initiative.id) == TrackedItem.initiative_id)
        .where(TrackedItem.team_id == team_id, TrackedItem.state == "open", Initiative.status == "active")
        .distinct()).all()
    asked = [] if kpis_due_by is None else kpi_updates_due(session, team_id=team_id, today=kpis_due_by)
    return set(assignees) | set(owners) | {due.recipient for due in asked}


def escalation_targets(session: Session, *, team_id: str) -> set[str]:
    """The sponsors (or business owners) of initiatives with something waiting: whom a sweep may escalate to."""
    waiting = (select(GateReview.initiative_id).where(GateReview.team_id == team_id, GateReview.state == "open")
               .union(select(TrackedItem.initiative_id).where(TrackedItem.team_id == team_id,
                                                             TrackedItem.state == "open")))
    return set(session.exec(
        select(OwnerAssignment.user_id).where(OwnerAssignment.team_id == team_id,
                                              col(OwnerAssignment.role).in_(ESCALATE_TO_ROLES),
                                              col(OwnerAssignment.initiative_id).in_(waiting)).distinct()
    ).all())


def _escalation_holders(session: Session, *, team_id: str, initiative_ids: Select) -> dict[int, str]:
    """Initiative (of those `initiative_ids` selects) -> whom its overdue items escalate to: its sponsor, or else
    its business owner."""
    holders: dict[int, dict[str, str]] = {}
    for initiative_id, role, user_id in session.exec(
        select(OwnerAssignment.initiative_id, OwnerAssignment.role, OwnerAssignment.user_id).where(
            OwnerAssignment.team_id == team_id, col(OwnerAssignment.role).in_(ESCALATE_TO_ROLES),
            col(OwnerAssignment.initiative_id).in_(initiative_ids))
    ):
        holders.setdefault(initiative_id, {})[role] = user_id
    return {initiative_id: next(roles[r] for r in ESCALATE_TO_ROLES if r in roles)
            for initiative_id, roles in holders.items()}


def _gate(catalog: GateCatalog, gate_slug: str) -> Gate:
    # A gate the newest definition dropped keeps the default cadence.
    return next((gate for gate in (*catalog.gates, *catalog.reattestations()) if gate.id == gate_slug), None) or Gate(
        id=gate_slug, name=gate_slug, from_stage="", to_stage="", required_roles={}, checklist={})
