"""Tracked items: what a gate decision leaves someone to do after the gate (storage/models/tracked_items.py).

- A `condition` is set by a Conditional Go (bot/services/reviews); a `waiver` becomes one when a waived checklist
  item's waiver expires. Both are `KEY-C<n>` / `KEY-W<n>`, numbered per initiative and kind.
- Its owner, the initiative's sponsor and admins may close it as met, with evidence (a note or links).
- The sponsor or an admin may cancel it or give it to someone else, with a reason. A recycle cancels the open
  items of the gates it goes back over, the recycle being the reason.
- It is due at 17:00 in its owner's zone on its due date; past that it is overdue, which is recorded once.
Every change is audited as `<kind>.<what>` (`condition.created`, `condition.met`, ...) and announced as a
`TrackedItemChanged` domain event (owners' DMs, webhooks, Homes).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.services.access.service import Actor, Audience, acting_for, on_behalf, visible_to
from bot.services.audit.service import record_audit
from bot.services.business_days import WORKDAY_END, WorkCalendar, at_local, nth_business_day_after
from bot.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.services.events import TrackedItemChanged, emit
from bot.services.gates.service import GateCatalog
from bot.services.initiatives.service import get_initiative, owners_of
from bot.services.tracked_items.conditions import FIELD, DraftCondition, parse_conditions
from bot.services.validation import TextField, clean_reason, clean_text
from storage.models import Initiative, TrackedItem
from storage.types import utcnow

# The domain's public face: what the rest of the bot may call (its other modules are internals).
__all__ = [
    "CANCELLED", "CONDITION", "EVIDENCE", "FIELD", "ITEM_TEXT", "KINDS_BY_LETTER", "LETTERS", "MET", "OPEN", "SPONSOR",
    "WAIVER", "DraftCondition", "GatedItem", "ItemKey", "blocks_next_review", "cancel", "cancel_gone_back_over",
    "close_waived_again", "create_item", "default_due_on", "due_at", "due_instant", "find_item", "is_overdue",
    "items_of", "key_of", "list_items", "meet", "met_between", "parse_conditions", "parse_item_key", "reassign",
    "record_overdue", "require_none_blocking", "require_sponsor_or_admin"
]

CONDITION, WAIVER = "condition", "waiver"
LETTERS = {CONDITION: "C", WAIVER: "W"}
KINDS_BY_LETTER = {letter: kind for kind, letter in LETTERS.items()}
OPEN, MET, CANCELLED = "open", "met", "cancelled"
SPONSOR = "sponsor"
ITEM_TEXT = TextField("conditions", "condition", 500)
EVIDENCE = TextField("evidence", "evidence", 3000)
_KEY = re.compile(r"^\s*AI-(\d{1,9})-([CW])(\d{1,6})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ItemKey:
    initiative_number: int
    kind: str
    number: int

    def __str__(self) -> str:
        return f"AI-{self.initiative_number}-{LETTERS[self.kind]}{self.number}"


def key_of(initiative: Initiative, item: TrackedItem) -> str:
    return str(ItemKey(initiative.number, item.kind, item.number))


def parse_item_key(text: str) -> ItemKey:
    match = _KEY.match(text or "")
    if match is None:
        raise InvalidInput(f"'{(text or '')[:40]}' is not a condition's id; write it like AI-7-C1 "
                           "(`/initiative conditions AI-7` lists them).", field="key")
    return ItemKey(int(match.group(1)), KINDS_BY_LETTER[match.group(2).upper()], int(match.group(3)))


def default_due_on(*, today: date, business_days: int, holidays: Collection[date] = ()) -> date:
    """The due date of an item given none: `business_days` business days after `today`."""
    return nth_business_day_after(today, business_days, holidays)


def due_instant(calendar: WorkCalendar, *, owner: str, due_on: date) -> datetime:
    """When an item is due: 17:00 in its owner's zone on its due date (as a sign-off's SLA ends)."""
    return at_local(due_on, WORKDAY_END, calendar.zone(owner))


def due_at(calendar: WorkCalendar, item: TrackedItem) -> datetime:
    return due_instant(calendar, owner=item.owner, due_on=item.due_on)


def is_overdue(calendar: WorkCalendar, item: TrackedItem, now: datetime) -> bool:
    return item.state == OPEN and now > due_at(calendar, item)


def find_item(session: Session, *, audience: Audience, key: str,
              for_update: bool = False) -> tuple[Initiative, TrackedItem]:
    """The item named `key` (`AI-7-C1`), on an initiative the audience may see."""
    parsed = parse_item_key(key)
    initiative = get_initiative(session, audience=audience, key=f"AI-{parsed.initiative_number}")
    query = select(TrackedItem).where(TrackedItem.initiative_id == initiative.id, TrackedItem.kind == parsed.kind,
                                      TrackedItem.number == parsed.number)
    if for_update:
        query = query.with_for_update()
    item = session.exec(query.execution_options(populate_existing=for_update)).first()
    if item is None:
        raise NotFound(f"{initiative.key} has no {parsed.kind} {parsed}. `/initiative conditions {initiative.key}` "
                       "lists them.")
    return initiative, item


def items_of(session: Session, *, initiative_id: int, kinds: Iterable[str] = (CONDITION, WAIVER)) -> list[TrackedItem]:
    """Every tracked item of an initiative, open and closed, in the order they were set."""
    return list(session.exec(select(TrackedItem).where(TrackedItem.initiative_id == initiative_id,
                                                       col(TrackedItem.kind).in_(tuple(kinds)))
                             .order_by(col(TrackedItem.kind), col(TrackedItem.number))))


class GatedItem(Protocol):
    """What `blocks_next_review` reads of an item: a row, or the summary `what_waits` gives of one."""

    @property
    def kind(self) -> str: ...
    @property
    def gate_slug(self) -> str: ...


def blocks_next_review(item: GatedItem, catalog: GateCatalog) -> bool:
    """Whether an open item refuses the initiative's next review: an expired waiver always (it is met, or waived
    again, first); a condition when its gate says `conditions_block_next_gate`."""
    if item.kind == WAIVER:
        return True
    gate = next((gate for gate in catalog.gates if gate.id == item.gate_slug), None)
    return item.kind == CONDITION and gate is not None and gate.conditions_block_next_gate


def require_none_blocking(session: Session, *, initiative: Initiative, catalog: GateCatalog) -> None:
    """Refuse the next review while open items block it, naming them."""
    blocking = [item for item in items_of(session, initiative_id=initiative.id)
                if item.state == OPEN and blocks_next_review(item, catalog)]
    if blocking:
        named = ", ".join(f"{key_of(initiative, item)} “{item.text[:80]}” (<@{item.owner}>)" for item in blocking[:5])
        more = f" and {len(blocking) - 5} more" if len(blocking) > 5 else ""
        waived = any(item.kind == WAIVER for item in blocking)
        raise Conflict(f"{initiative.key}'s next review waits for its open "
                       f"{'conditions and expired waivers' if waived else 'conditions'}: {named}{more}. "
                       "`/initiative condition met <id> <evidence>` closes one"
                       + (" (`/initiative condition waive <id> until YYYY-MM-DD <reason>` waives an expired waiver "
                          "again)." if waived else "."))


def list_items(session: Session, *, audience: Audience, initiative_id: int | None = None, owner: str | None = None,
               open_only: bool = True, limit: int = 40) -> tuple[list[tuple[Initiative, TrackedItem]], int]:
    """Items on initiatives the audience may see (of one initiative, of one owner), open ones soonest due first
    then the closed; at most `limit` of them, and how many there are."""
    where = [visible_to(audience)]
    if initiative_id is not None:
        where.append(TrackedItem.initiative_id == initiative_id)
    if owner is not None:
        where.append(TrackedItem.owner == owner)
    if open_only:
        where += [TrackedItem.state == OPEN, col(Initiative.status).in_(("active", "paused", "held"))]
    joined = select(TrackedItem, Initiative).join(Initiative, col(Initiative.id) == TrackedItem.initiative_id)
    total = session.exec(select(func.count()).select_from(joined.where(*where).subquery())).one()
    rows = session.exec(joined.where(*where).order_by(
        col(TrackedItem.state) != OPEN, col(TrackedItem.due_on), col(TrackedItem.id)).limit(limit)).all()
    return [(initiative, item) for item, initiative in rows], total


def met_between(session: Session, *, team_id: str, kind: str, start: datetime, end: datetime) -> list[int]:
    """The initiatives (one entry per item) whose items of `kind` were met in [start, end)."""
    return list(session.exec(select(TrackedItem.initiative_id).where(
        TrackedItem.team_id == team_id, TrackedItem.kind == kind, TrackedItem.state == MET,
        col(TrackedItem.closed_at) >= start, col(TrackedItem.closed_at) < end)).all())


def create_item(session: Session, *, actor: str, initiative: Initiative, kind: str, text: str, owner: str,
                due_on: date, gate_slug: str, stage: str, review_id: int | None = None,
                sign_off_id: int | None = None, checklist_item: str | None = None,
                details: dict | None = None, what: str = "created") -> TrackedItem:
    """A new open item, numbered next for its initiative and kind (the caller holds the initiative's lock, and a
    unique constraint guards the number), audited as `<kind>.<what>` (`condition.created`, `waiver.expired`)."""
    text = clean_text(text, ITEM_TEXT)
    if not text:
        raise InvalidInput(f"Say what the {kind} is.", field=ITEM_TEXT.name)
    number = 1 + (session.exec(select(func.max(TrackedItem.number)).where(
        TrackedItem.initiative_id == initiative.id, TrackedItem.kind == kind)).one() or 0)
    item = TrackedItem(team_id=initiative.team_id, initiative_id=initiative.id, kind=kind, number=number,
                       gate_slug=gate_slug, stage=stage, review_id=review_id, sign_off_id=sign_off_id,
                       checklist_item=checklist_item, text=text, owner=owner, due_on=due_on, created_by=actor,
                       created_at=utcnow())
    session.add(item)
    session.flush()
    _audit(session, actor=actor, initiative=initiative, item=item, what=what, before=None,
           after={"text": text, "owner": owner, "due_on": due_on.isoformat(), "gate": gate_slug, **(details or {})})
    return item


def meet(session: Session, *, actor: Actor, initiative: Initiative, item: TrackedItem, evidence: str,
         links: Iterable[str] = ()) -> TrackedItem:
    """Close as met, with evidence: by its owner, the sponsor, someone either delegated to (audited as on their
    behalf) or an admin. `links` were vetted by the caller (the evidence links' SSRF rules,
    bot.services.reviews.service.check_evidence_links)."""
    entitled = [person for person in (item.owner, owners_of(session, initiative_id=initiative.id).get(SPONSOR))
                if person]
    acting_as = acting_for(session, actor=actor, people=entitled, now=utcnow())
    if acting_as is None and not actor.is_admin:
        raise PermissionDenied(f"Only {key_of(initiative, item)}'s owner, {initiative.key}'s sponsor or an admin "
                               f"(or someone the owner or sponsor delegated to) can close it.")
    evidence = clean_text(evidence, EVIDENCE)
    if not evidence:
        raise InvalidInput(f"Say how {key_of(initiative, item)} was met: `/initiative condition met "
                           f"{key_of(initiative, item)} <evidence or link>`.", field=EVIDENCE.name)
    _close(session, actor=actor, initiative=initiative, item=item, state=MET,
           values={"evidence": evidence, "evidence_links": list(links)},
           details={"evidence": evidence, **on_behalf(actor, acting_as)})
    return item


def cancel(session: Session, *, actor: Actor, initiative: Initiative, item: TrackedItem, reason: str) -> TrackedItem:
    """Cancel with a reason: by the sponsor or an admin."""
    require_sponsor_or_admin(session, actor=actor, initiative=initiative, item=item, doing="cancel")
    reason = clean_reason(reason, what=f"reason for cancelling {key_of(initiative, item)}")
    _close(session, actor=actor, initiative=initiative, item=item, state=CANCELLED, values={"close_reason": reason},
           details={"reason": reason})
    return item


def reassign(session: Session, *, actor: Actor, initiative: Initiative, item: TrackedItem, owner: str,
             reason: str) -> TrackedItem:
    """Give an open item to someone else, with a reason: by the sponsor or an admin."""
    require_sponsor_or_admin(session, actor=actor, initiative=initiative, item=item, doing="reassign")
    reason = clean_reason(reason, what=f"reason for giving {key_of(initiative, item)} to someone else")
    _require_open(initiative, item)
    if owner == item.owner:
        raise Conflict(f"{key_of(initiative, item)} is already <@{owner}>'s.")
    before = item.owner
    item.owner = owner
    session.add(item)
    session.flush()
    _audit(session, actor=actor.user_id, initiative=initiative, item=item, what="reassigned",
           before={"owner": before}, after={"owner": owner, "reason": reason}, previous_owner=before)
    return item


def cancel_gone_back_over(session: Session, *, actor: Actor, initiative: Initiative, stages: Collection[str],
                          reason: str) -> list[TrackedItem]:
    """Cancel the open items of the gates a recycle goes back over (those that led into `stages`), the recycle
    being the reason. Permission is the recycle's."""
    items = list(session.exec(select(TrackedItem).where(
        TrackedItem.initiative_id == initiative.id, TrackedItem.state == OPEN,
        col(TrackedItem.stage).in_(tuple(stages))).order_by(col(TrackedItem.id)).with_for_update()))
    for item in items:
        _close(session, actor=actor, initiative=initiative, item=item, state=CANCELLED,
               values={"close_reason": reason}, details={"reason": reason})
    return items


def record_overdue(session: Session, *, team_id: str, calendar: WorkCalendar, now: datetime) -> list[TrackedItem]:
    """Mark, once each, the open items that have become overdue by `now`, audited as `<kind>.overdue`."""
    candidates = session.exec(select(TrackedItem, Initiative)
                              .join(Initiative, col(Initiative.id) == TrackedItem.initiative_id)
                              .where(TrackedItem.team_id == team_id, TrackedItem.state == OPEN,
                                     col(TrackedItem.overdue_at).is_(None), Initiative.status == "active",
                                     # No zone is a day ahead of UTC: none later is due yet.
                                     col(TrackedItem.due_on) <= now.date() + timedelta(days=1))).all()
    marked = []
    for item, initiative in candidates:
        if not is_overdue(calendar, item, now):
            continue
        claimed = session.execute(update(TrackedItem).where(
            col(TrackedItem.id) == item.id, col(TrackedItem.overdue_at).is_(None), TrackedItem.state == OPEN,
        ).values(overdue_at=now)).rowcount
        if not claimed:
            continue
        item.overdue_at = now
        _audit(session, actor="system", initiative=initiative, item=item, what="overdue", before=None,
               after={"owner": item.owner, "due_on": item.due_on.isoformat()})
        marked.append(item)
    return marked


def close_waived_again(session: Session, *, actor: Actor, initiative: Initiative, item: TrackedItem,
                       reason: str, details: dict) -> TrackedItem:
    """An expired waiver's item, closed because its checklist item was waived again (bot/services/waivers, which
    checks who may): cancelled, the new waiver being the reason."""
    _close(session, actor=actor, initiative=initiative, item=item, state=CANCELLED, values={"close_reason": reason},
           details={"reason": reason, **details})
    return item


def require_sponsor_or_admin(session: Session, *, actor: Actor, initiative: Initiative, item: TrackedItem,
                              doing: str) -> None:
    if actor.is_admin or actor.user_id == owners_of(session, initiative_id=initiative.id).get(SPONSOR):
        return
    raise PermissionDenied(f"Only {initiative.key}'s sponsor or an admin can {doing} {key_of(initiative, item)}.")


def _require_open(initiative: Initiative, item: TrackedItem) -> None:
    if item.state != OPEN:
        raise Conflict(f"{key_of(initiative, item)} is already {item.state}.")


def _close(session: Session, *, actor: Actor, initiative: Initiative, item: TrackedItem, state: str, values: dict,
           details: dict) -> None:
    """Move an open item to `state`, once: a compare-and-set update, so two closings cannot both win."""
    _require_open(initiative, item)
    now = utcnow()
    closed = session.execute(update(TrackedItem).where(col(TrackedItem.id) == item.id, TrackedItem.state == OPEN)
                             .values(state=state, closed_by=actor.user_id, closed_at=now, **values)).rowcount
    if not closed:
        raise Conflict(f"{key_of(initiative, item)} was closed a moment ago.")
    session.refresh(item)
    _audit(session, actor=actor.user_id, initiative=initiative, item=item, what=state, before={"state": OPEN},
           after={"state": state, **details})


def _audit(session: Session, *, actor: str, initiative: Initiative, item: TrackedItem, what: str,
           before: dict | None, after: dict, previous_owner: str | None = None) -> None:
    assert item.id is not None
    record_audit(session, team_id=initiative.team_id, actor=actor, action=f"{item.kind}.{what}",
                 subject_type=item.kind, subject_key=key_of(initiative, item), initiative_id=initiative.id,
                 before=before, after=after)
    emit(session, TrackedItemChanged(team_id=initiative.team_id, actor=actor, initiative_id=initiative.id,
                                     item_id=item.id, kind=item.kind, what=what, previous_owner=previous_owner))

