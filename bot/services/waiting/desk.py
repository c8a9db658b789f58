"""A person's desk: what waits on them as one list, oldest first, and what blocks each initiative they own.

Both read `what_waits` (bot.services.waiting.service), so the App Home, `/initiative todo`, the nudges and `show`
can never disagree on what waits on whom. Due dates are the ones every other surface gives: a sign-off's
deadline (its SLA, bot.services.business_days), a tracked item's 17:00 on its due date in its owner's zone, and
a KPI request's due date.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlmodel import Session

from bot.services.access.service import Audience
from bot.services.business_days import WorkCalendar, at_local, local_date
from bot.services.gates.service import GateCatalog
from bot.services.kpis.scheduled import KpiUpdateDue
from bot.services.tracked_items.service import blocks_next_review, due_instant
from bot.services.waiting.service import OpenItem, Pending, kpi_requests, what_waits


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
                         audience=Audience.person(team_id=team_id, user_id=person))

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
