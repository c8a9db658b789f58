"""The nudge policy: who is reminded or escalated to right now, and why. Pure: data in, a plan out.

- A sign-off's business days are counted in its assignee's zone, from the day after it was requested.
- It is due for a reminder once pending `nudge_first_after` business days, then every `nudge_every` business
  days after the last reminder (both from the newest gate definition); its SLA (pinned on the review) ends at
  17:00 local on its last business day.
- A person gets one consolidated nudge listing all their pending sign-offs (their delegators' too, while a
  delegation lasts: nudges go to the delegate only), at most one per local day, only 09:00-17:00 on a business
  day in their own zone, and none while snoozed; when a snooze ends they are reminded.
- After the SLA, the sponsor (or else the business owner) and the admins get one consolidated escalation per
  local working day at most, repeated on the same cadence while the sign-off stays overdue.
- An open condition (or expired waiver) waits on its owner the same way, in the same one DM a day: it is due for
  a reminder once its due date is `nudge_first_after` business days away or less, then every `nudge_every`
  business days; past 17:00 on its due date (the owner's zone) it escalates as an overdue sign-off does.
- KPI actuals due from a live initiative's business owner join the same DM from their due date (the owner's
  zone), once per period (the sweep records each request: bot/services/kpis/scheduled.py); they never escalate.
  Like sign-offs and conditions, they go to the owner's delegate while a delegation lasts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from bot.services.business_days import WorkCalendar, business_days_between, in_working_hours, local_date
from bot.services.kpis.scheduled import KpiUpdateDue
from bot.services.tracked_items.service import due_instant
from bot.services.waiting.service import OpenItem, Pending

NUDGE = "nudge"
ESCALATION = "escalation"
# Why someone due a message does not get it now (`Held.why`).
SNOOZED, SENT_TODAY, OUTSIDE_HOURS = "snoozed", "sent_today", "outside_hours"


@dataclass(frozen=True)
class History:
    """What earlier sweeps sent: local dates (in the recipient's zone at the time) and creation times."""

    last_reminded: Mapping[int, date] = field(default_factory=dict)  # sign-off -> last nudge reminding of it
    last_escalated: Mapping[tuple[str, int], date] = field(default_factory=dict)  # (recipient, sign-off)
    last_sent: Mapping[tuple[str, str], tuple[date, datetime]] = field(default_factory=dict)  # (recipient, kind)
    item_last_reminded: Mapping[int, date] = field(default_factory=dict)  # tracked item -> last nudge
    item_last_escalated: Mapping[tuple[str, int], date] = field(default_factory=dict)  # (recipient, item)


@dataclass(frozen=True)
class World:
    pending: Sequence[Pending]
    default_zone: ZoneInfo
    zones: Mapping[str, ZoneInfo] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    delegations: Mapping[str, str] = field(default_factory=dict)  # owner -> delegate, in force now
    snoozes: Mapping[str, datetime] = field(default_factory=dict)  # person -> snoozed until
    admins: Sequence[str] = ()
    history: History = field(default_factory=History)
    open_items: Sequence[OpenItem] = ()  # conditions and expired waivers
    kpi_updates: Sequence[KpiUpdateDue] = ()  # KPI actuals due by tomorrow in UTC: the policy judges each zone's today

    @cached_property
    def calendar(self) -> WorkCalendar:
        """The deadlines' rule, shared with the DM, the digest and `show` (bot.services.reviews.deadlines)."""
        return WorkCalendar(default_zone=self.default_zone, zones=self.zones, holidays=self.holidays)

    def zone(self, user_id: str) -> ZoneInfo:
        return self.calendar.zone(user_id)

    def recipient_for(self, user_id: str) -> str:
        return self.delegations.get(user_id, user_id)


@dataclass(frozen=True)
class Item:
    """A pending sign-off as one recipient's message shows it."""

    pending: Pending
    business_days: int
    deadline: datetime
    overdue: bool
    due: bool  # its reminder (or escalation) is due today
    on_behalf_of: str | None = None  # the delegating owner, when the recipient is their delegate

    @property
    def reminding_age(self) -> bool:
        return self.business_days >= self.pending.nudge_first_after


@dataclass(frozen=True)
class ItemLine:
    """An open condition (or expired waiver) as one recipient's message shows it."""

    item: OpenItem
    deadline: datetime
    overdue: bool
    due: bool  # its reminder (or escalation) is due today
    reminding_age: bool  # close enough to its due date (or past it) for a reminder to restart its cadence
    on_behalf_of: str | None = None


@dataclass(frozen=True)
class Notice:
    kind: str
    recipient: str
    local_date: date
    items: tuple[Item, ...]  # sign-offs
    reason: str
    zone: ZoneInfo  # the recipient's: the zone the policy judged them in, and the one their DM's times fall back to
    lines: tuple[ItemLine, ...] = ()  # open conditions and expired waivers
    kpis: tuple[KpiUpdateDue, ...] = ()  # KPI actuals to record, due today or earlier in the recipient's zone

    @property
    def item_ids(self) -> list[int]:
        return [line.item.item_id for line in self.lines]

    @property
    def reminded_item_ids(self) -> list[int]:
        if self.kind == ESCALATION:
            return self.item_ids
        return [line.item.item_id for line in self.lines if line.reminding_age]

    @property
    def sign_off_ids(self) -> list[int]:
        return [item.pending.sign_off_id for item in self.items]

    @property
    def reminded_ids(self) -> list[int]:
        """The sign-offs whose cadence this message restarts (those old enough to be reminded of)."""
        if self.kind == ESCALATION:
            return self.sign_off_ids
        return [item.pending.sign_off_id for item in self.items if item.reminding_age]


@dataclass(frozen=True)
class Held:
    """Someone due a message who does not get one now, and why (shown by the dry run): `why` is SNOOZED (until
    `at`), SENT_TODAY (their local date of `at`) or OUTSIDE_HOURS (`at` is now), in their `zone`."""

    kind: str
    recipient: str
    why: str
    at: datetime
    zone: ZoneInfo


@dataclass(frozen=True)
class Plan:
    notices: list[Notice]
    held: list[Held]


def plan(world: World, now: datetime) -> Plan:
    """Every nudge and escalation to send at `now`, and those held back."""
    notices: list[Notice] = []
    held: list[Held] = []
    by_recipient: dict[str, tuple[list[Pending], list[OpenItem]]] = {}
    for pending in sorted(world.pending, key=lambda p: (p.requested_at, p.sign_off_id)):
        by_recipient.setdefault(world.recipient_for(pending.assignee), ([], []))[0].append(pending)
    for open_item in world.open_items:
        by_recipient.setdefault(world.recipient_for(open_item.owner), ([], []))[1].append(open_item)
    # Due in the business owner's zone, asked of their delegate while they are away (as their sign-offs are).
    kpis: dict[str, list[KpiUpdateDue]] = {}
    for update in world.kpi_updates:
        if update.due_on <= local_date(now, world.zone(update.recipient)):
            asked = world.recipient_for(update.recipient)
            kpis.setdefault(asked, []).append(update)
            by_recipient.setdefault(asked, ([], []))
    for recipient, (pendings, open_items) in by_recipient.items():
        _decide(world, now, NUDGE, recipient, pendings, open_items, notices, held, tuple(kpis.get(recipient, ())))
    escalations: dict[str, tuple[list[Pending], list[OpenItem]]] = {}
    for pending in sorted(world.pending, key=lambda p: (p.requested_at, p.sign_off_id)):
        if now > _deadline(world, pending):
            for target in _escalation_targets(world, pending.assignee, pending.escalate_to):
                escalations.setdefault(target, ([], []))[0].append(pending)
    for open_item in world.open_items:
        if now > _item_deadline(world, open_item):
            for target in _escalation_targets(world, open_item.owner, open_item.escalate_to):
                escalations.setdefault(target, ([], []))[1].append(open_item)
    for recipient, (pendings, open_items) in escalations.items():
        _decide(world, now, ESCALATION, recipient, pendings, open_items, notices, held)
    return Plan(notices=notices, held=held)


def _escalation_targets(world: World, person: str, escalate_to: str | None) -> list[str]:
    """The sponsor (or business owner) and the admins, each through their delegate, but never the person waited on
    (or their delegate)."""
    person_side = {person, world.recipient_for(person)}
    targets = [escalate_to, *world.admins] if escalate_to else list(world.admins)
    return [t for t in dict.fromkeys(world.recipient_for(t) for t in targets if t) if t not in person_side]


def _decide(world: World, now: datetime, kind: str, recipient: str, pendings: list[Pending],
            open_items: list[OpenItem], notices: list[Notice], held: list[Held],
            kpis: tuple[KpiUpdateDue, ...] = ()) -> None:
    zone = world.zone(recipient)
    today = local_date(now, zone)
    items = tuple(_item(world, now, kind, recipient, today, p) for p in pendings)
    lines = tuple(_line(world, now, kind, recipient, today, i) for i in open_items)
    due = [item for item in items if item.due] + [line for line in lines if line.due] + list(kpis)
    snoozed_until = world.snoozes.get(recipient) if kind == NUDGE else None
    last_date, last_at = world.history.last_sent.get((recipient, kind), (None, None))
    snooze_ended = (snoozed_until is not None and snoozed_until <= now and (last_at is None or last_at < snoozed_until)
                    and (any(item.reminding_age for item in items) or any(line.reminding_age for line in lines)))
    if not due and not snooze_ended:
        return
    if snoozed_until is not None and now < snoozed_until:
        held.append(Held(kind, recipient, SNOOZED, snoozed_until, zone))
    elif last_date is not None and last_date >= today:
        held.append(Held(kind, recipient, SENT_TODAY, now, zone))
    elif not in_working_hours(now, zone, world.holidays):
        held.append(Held(kind, recipient, OUTSIDE_HOURS, now, zone))
    else:
        notices.append(Notice(kind, recipient, today, items, _reason(kind, items, lines, len(due), snooze_ended,
                                                                     len(kpis)), zone, lines, kpis))


def _item(world: World, now: datetime, kind: str, recipient: str, today: date, pending: Pending) -> Item:
    elapsed = world.calendar.business_days_pending(assignee=pending.assignee, requested_at=pending.requested_at,
                                                   now=now)
    deadline = _deadline(world, pending)
    overdue = now > deadline
    if kind == NUDGE:
        last = world.history.last_reminded.get(pending.sign_off_id)
        due = elapsed >= pending.nudge_first_after and (
            last is None or business_days_between(last, today, world.holidays) >= pending.nudge_every
        )
    else:
        last = world.history.last_escalated.get((recipient, pending.sign_off_id))
        due = overdue and (last is None or business_days_between(last, today, world.holidays) >= pending.nudge_every)
    on_behalf_of = pending.assignee if kind == NUDGE and recipient != pending.assignee else None
    return Item(pending=pending, business_days=elapsed, deadline=deadline, overdue=overdue, due=due,
                on_behalf_of=on_behalf_of)


def _line(world: World, now: datetime, kind: str, recipient: str, today: date, open_item: OpenItem) -> ItemLine:
    deadline = _item_deadline(world, open_item)
    overdue = now > deadline
    near = business_days_between(today, open_item.due_on, world.holidays) <= open_item.nudge_first_after
    reminding_age = overdue or near
    if kind == NUDGE:
        last = world.history.item_last_reminded.get(open_item.item_id)
        due = reminding_age
    else:
        last = world.history.item_last_escalated.get((recipient, open_item.item_id))
        due = overdue
    due = due and (last is None or business_days_between(last, today, world.holidays) >= open_item.nudge_every)
    on_behalf_of = open_item.owner if kind == NUDGE and recipient != open_item.owner else None
    return ItemLine(item=open_item, deadline=deadline, overdue=overdue, due=due, reminding_age=reminding_age,
                    on_behalf_of=on_behalf_of)


def _item_deadline(world: World, open_item: OpenItem) -> datetime:
    return due_instant(world.calendar, owner=open_item.owner, due_on=open_item.due_on)


def _deadline(world: World, pending: Pending) -> datetime:
    return world.calendar.deadline(assignee=pending.assignee, requested_at=pending.requested_at,
                                   sla_business_days=pending.sla_business_days)


def _reason(kind: str, items: tuple[Item, ...], lines: tuple[ItemLine, ...], due: int, snooze_ended: bool,
            kpis: int = 0) -> str:
    overdue = sum(1 for item in items if item.overdue) + sum(1 for line in lines if line.overdue)
    conditions = f", {len(lines)} open condition(s)" if lines else ""
    if kind == ESCALATION:
        return f"{len(items)} sign-off(s) past their SLA{conditions}, {due} not escalated to them recently"
    actuals = f", {kpis} KPI update(s)" if kpis else ""
    parts = [f"{len(items)} pending sign-off(s){conditions}{actuals}", f"{due} due for a reminder"]
    if overdue:
        parts.append(f"{overdue} overdue")
    if snooze_ended:
        parts.append("their snooze has ended")
    return ", ".join(parts)
