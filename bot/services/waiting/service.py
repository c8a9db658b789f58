"""What waits on a person, defined once: the nudges, `show`, the App Home and the digest all read it here.

- a pending sign-off of an open review of an active initiative, waiting on its assignee;
- an open tracked item of an active initiative, waiting on its owner: a Conditional Go's condition, or an
  expired waiver (bot/services/tracked_items, whose kinds this lists alike);
- KPI actuals due from a live initiative's business owner (bot/services/kpis/scheduled.py), when asked with
  `kpis_due_by`.

Each comes with what a reminder, an escalation or a list needs: the gate's reminder cadence (the newest gate
definition's), and whom to escalate to (the sponsor, or else the business owner). Reads are a fixed number of
queries per workspace, never one per person.

A person's desk (`waiting_on`, `blockers_of`) is read from the same `what_waits`: what waits on them as one
list, oldest first, and what blocks each initiative they own; so the App Home, `/initiative todo`, the nudges and
`show` can never disagree on what waits on whom. Due dates are the ones every other surface gives: a sign-off's
deadline (its SLA, bot.services.business_days), a tracked item's 17:00 on its due date in its owner's zone, and
a KPI request's due date.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import ColumnElement, Select
from sqlmodel import Session, col, select

from bot.services.access.service import Audience, deactivated, visible_to
from bot.services.business_days import WorkCalendar, at_local, local_date
from bot.services.gates.service import Gate, GateCatalog
from bot.services.kpis.scheduled import KpiUpdateDue, kpi_updates_due
from bot.services.tracked_items.service import ItemKey, blocks_next_review, due_instant
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
        .join(Initiative, col(Initiative.id) == GateReview.initiative_id).where(*where))) if rows else {}
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
        .where(*where))) if rows else {}
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
    its business owner. Asked only when something waits (most `show`s find nothing: two statements saved)."""
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


@dataclass(frozen=True)
class Waits:
    """One thing waiting on a person: since when, by when, and whether that has passed; `on_behalf_of`: whom it
    waits on when they delegated it to the person (None when it is the person's own)."""

    what: Pending | OpenItem | KpiUpdateDue
    since: datetime
    due: datetime | date  # an instant (sign-offs, items) or a calendar day (KPI actuals)
    overdue: bool
    on_behalf_of: str | None = None


def waiting_on(session: Session, *, team_id: str, catalog: GateCatalog, person: str, calendar: WorkCalendar,
               now: datetime, delegated_by: Collection[str] = ()) -> list[Waits]:
    """Everything waiting on `person` (their pending sign-offs and re-attestations, open conditions and expired
    waivers, KPI actuals asked of them and not yet recorded), and on each of `delegated_by` (those who delegated
    to them while it lasts: bot.services.access.delegation.delegators), the longest waiting first. `calendar`
    knows the zones of them all: a sign-off's deadline runs on its assignee's clock."""
    zone = calendar.zone(person)
    today = local_date(now, zone)
    people = {person, *delegated_by}
    # The person's audience: the visibility rule lets a delegate see the delegators' confidential initiatives.
    waiting = what_waits(session, team_id=team_id, catalog=catalog, people=people,
                         audience=Audience.person(team_id=team_id, user_id=person, at=now))

    def behalf(whom: str) -> str | None:
        return None if whom == person else whom

    entries: list[Waits] = []
    for pending in waiting.sign_offs:
        deadline = calendar.deadline(assignee=pending.assignee, requested_at=pending.requested_at,
                                     sla_business_days=pending.sla_business_days)
        entries.append(Waits(pending, since=pending.requested_at, due=deadline, overdue=now > deadline,
                             on_behalf_of=behalf(pending.assignee)))
    for item in waiting.items:
        due = due_instant(calendar, owner=item.owner, due_on=item.due_on)
        entries.append(Waits(item, since=item.created_at, due=due, overdue=now > due, on_behalf_of=behalf(item.owner)))
    # Every outstanding request, asked or not: the desk lists them until they are recorded.
    for request in kpi_requests(session, team_id=team_id, people=people, due_by=today, to_ask=False):
        entries.append(Waits(request, since=at_local(request.due_on, time(0), zone), due=request.due_on,
                             overdue=request.due_on < today, on_behalf_of=behalf(request.recipient)))
    return sorted(entries, key=lambda entry: entry.since)


@dataclass(frozen=True)
class Blockers:
    """What an initiative waits for: its open review's pending sign-offs, and its open conditions and expired
    waivers, `blocking` naming those that refuse its next review."""

    sign_offs: tuple[Pending, ...] = ()
    items: tuple[OpenItem, ...] = ()
    blocking: frozenset[str] = frozenset()


def blockers_of(session: Session, *, team_id: str, catalog: GateCatalog,
                initiative_ids: Iterable[int]) -> dict[str, Blockers]:
    """Initiative key -> what it waits for, for those of `initiative_ids` that wait for anything (paused and held
    ones wait for nobody: their status says why they stand still)."""
    waiting = what_waits(session, team_id=team_id, catalog=catalog, initiative_ids=initiative_ids)
    keys = {p.initiative_key for p in waiting.sign_offs} | {i.initiative_key for i in waiting.items}
    return {key: Blockers(
        sign_offs=tuple(p for p in waiting.sign_offs if p.initiative_key == key),
        items=tuple(i for i in waiting.items if i.initiative_key == key),
        blocking=frozenset(i.key for i in waiting.items if i.initiative_key == key and blocks_next_review(i, catalog)),
    ) for key in keys}
