"""Load what the digest needs with a fixed number of queries, whatever the portfolio's size.

Ten SELECTs (plus platform's failed-outbox query, made by the caller): the newest gate definition, initiatives,
stage transitions, status changes (and recycles) from the audit trail, gate reviews, sign-offs pending at as_of,
the sign-offs decided in the year, the holds open at as_of, the next gates' target dates already past, and the
expired waivers open at as_of. Only the columns used are read, as plain Core rows (no ORM objects), iterated
rather than fetched all at once (holding ~60,000 rows makes CPython's cyclic GC rescan them: slower, measured);
everything else happens in pure functions (`metrics.py`).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Dialect, String, null, or_, select, type_coerce
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Session, col

from bot.services.access.service import Audience, visible_to
from bot.services.business_days import WorkCalendar
from bot.services.gates.service import GateCatalog, catalog_for
from bot.services.reviews.service import work_calendar
from storage.models import (
    AuditEvent,
    GateReview,
    Initiative,
    InitiativeFlag,
    InitiativeOutcome,
    SignOff,
    StageTransition,
    TrackedItem,
)


def _from_sqlite_text(value: str | None) -> datetime | None:
    # Naive UTC text, parsed with its offset appended in one C call: `.replace(tzinfo=UTC)` after parsing costs
    # 8x more (keyword arguments), a fifth of the digest's time on SQLite across ~90,000 values.
    return None if value is None else datetime.fromisoformat(value + "+00:00")


def _to_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


class _Instant(TypeDecorator[datetime]):
    """A UTCDateTime column read in bulk: the same aware UTC values, converted by one C call each instead of
    SQLAlchemy's generic DATETIME parser (SQLite) followed by UTCDateTime's hook. Read-only."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(String() if dialect.name == "sqlite" else DateTime(timezone=True))

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        return _from_sqlite_text if dialect.name == "sqlite" else _to_utc


def _instant(column: Any, name: str) -> Any:
    return type_coerce(column, _Instant()).label(name)


# Audit actions that change an initiative's status, and the status each one sets.
STATUS_ACTIONS = {"initiative.paused": "paused", "initiative.active": "active", "initiative.retired": "retired",
                  "initiative.held": "held", "initiative.killed": "killed"}
# The audit action of a recycle: the stage transition it caused points at it (`audit_event_id`).
RECYCLED = "initiative.recycled"
LOOKBACK = timedelta(days=365)
# Decisions that count for turnaround: the role's owner answered (a waiver is an admin's, a cancel nobody's).
TURNAROUND_STATES = ("approved", "changes_requested")


class Transition(NamedTuple):
    at: datetime
    from_stage: str | None
    to_stage: str
    review_id: int | None
    reason: str
    audit_event_id: int | None = None


class StatusChange(NamedTuple):
    at: datetime
    status: str
    reason: str
    lessons: str = ""  # a kill's "what we learned"


class Flag(NamedTuple):
    """A flag raised on an initiative at as_of (At risk, Stale model: bot/services/attestation)."""

    initiative_id: int
    kind: str
    detail: str
    raised_at: datetime


class Hold(NamedTuple):
    """A hold open at as_of (its revisit date as it stands now: an extension moves it)."""

    initiative_id: int
    revisit_on: date
    reason: str


class OpenWaiver(NamedTuple):
    """An expired waiver's tracked item (`KEY-W<number>`) open at as_of."""

    initiative_id: int
    number: int
    text: str
    owner: str
    expired_on: date


Change = TypeVar("Change", Transition, StatusChange)


@dataclass(slots=True)  # 10,000 of them: no per-instance dict for the GC to scan
class InitiativeHistory:
    """One initiative's stage transitions and status changes up to as_of, each oldest first."""

    id: int
    key: str
    title: str
    classified: bool = True  # classified with the questionnaire (bot/services/regulation); today's state
    transitions: list[Transition] = field(default_factory=list)
    statuses: list[StatusChange] = field(default_factory=list)

    def stage_at(self, moment: datetime) -> Transition | None:
        """The transition that put it in its stage as of `moment`; None if it did not exist yet."""
        return _last_at(self.transitions, moment)

    def status_at(self, moment: datetime) -> str:
        change = _last_at(self.statuses, moment)
        return change.status if change else "active"


def _last_at(changes: list[Change], moment: datetime) -> Change | None:
    if changes and changes[-1].at <= moment:  # the common question: "as of now"
        return changes[-1]
    index = bisect_right([change.at for change in changes], moment) - 1
    return changes[index] if index >= 0 else None


class Review(NamedTuple):
    id: int
    initiative_id: int
    gate_slug: str
    state: str
    closed_at: datetime | None
    close_reason: str | None
    sla_business_days: int


class PendingSignOff(NamedTuple):
    review_id: int
    role: str
    assignee: str
    requested_at: datetime


@dataclass
class DigestData:
    catalog: GateCatalog
    initiatives: dict[int, InitiativeHistory]
    reviews: dict[int, Review]  # open at as_of, or closed after the week began
    pending: list[PendingSignOff]  # requested at or before as_of and not decided by then
    # Per role, request-to-decision time of each approval or change request in the year before as_of. Plain
    # timedeltas: 26,000 row objects would stay tracked by the cyclic GC (named tuples are never untracked).
    turnarounds: dict[str, list[timedelta]]
    calendar: WorkCalendar  # the pending sign-offs' deadlines: their assignees' zones, the workspace's holidays
    recycles: frozenset[int] = frozenset()  # audit event ids of recycles (RECYCLED)
    holds: list[Hold] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    # Passed reviews whose target date for the next gate is before as_of's date: review id -> that date.
    targets: dict[int, date] = field(default_factory=dict)
    expired_waivers: list[OpenWaiver] = field(default_factory=list)
    # Initiatives matching the filter that the audience may not see (confidential): their stage and status
    # histories only, so that their movements are counted without being named.
    hidden: dict[int, InitiativeHistory] = field(default_factory=dict)


def load_digest_data(
    session: Session, *, audience: Audience, as_of: datetime, since: datetime, default_zone: ZoneInfo,
    tag: str | None = None, business_unit: str | None = None,
) -> DigestData:
    """Everything the digest as of `as_of` (its week beginning at `since`) needs, for the initiatives matching
    the filter (a tag, or a team/business unit) that the audience may see."""
    team_id = audience.team_id
    catalog = catalog_for(session, team_id=team_id)
    connection = session.connection()  # Core rows: no ORM bookkeeping for 100,000 plain tuples
    initiatives: dict[int, InitiativeHistory] = {}
    hidden: dict[int, InitiativeHistory] = {}
    wanted_unit = (business_unit or "").strip().lower()
    wanted_tag = (tag or "").strip().lower()
    # The filter's columns only when filtering: tags are JSON, decoded row by row.
    for row in connection.execute(
        select(Initiative.id, Initiative.number, Initiative.title,
               Initiative.tags if wanted_tag else null(), Initiative.business_unit if wanted_unit else null(),
               Initiative.classified_tier, visible_to(audience))
        .where(Initiative.team_id == team_id, col(Initiative.created_at) <= as_of)
    ):
        if wanted_tag and wanted_tag not in (row[3] or []):
            continue
        if wanted_unit and row[4].strip().lower() != wanted_unit:
            continue
        (initiatives if row[6] else hidden)[row[0]] = InitiativeHistory(id=row[0], key=f"AI-{row[1]}", title=row[2],
                                                                        classified=row[5] is not None)
    for initiative_id, at, from_stage, to_stage, review_id, reason, audit_event_id in connection.execute(
        select(StageTransition.initiative_id, _instant(StageTransition.at, "at"), StageTransition.from_stage,
               StageTransition.to_stage, StageTransition.review_id, StageTransition.reason,
               StageTransition.audit_event_id)
        .where(StageTransition.team_id == team_id, col(StageTransition.at) <= as_of)
        .order_by(col(StageTransition.at))
    ):
        if history := initiatives.get(initiative_id) or hidden.get(initiative_id):
            history.transitions.append(Transition(at, from_stage, to_stage, review_id, reason, audit_event_id))
    # Sorted here rather than by ORDER BY, which made SQLite walk the (team_id, at) index through every audit
    # event instead of the (team_id, action, at) one through the status changes only.
    status_rows = connection.execute(
        select(AuditEvent.initiative_id, _instant(AuditEvent.at, "at"), AuditEvent.id, AuditEvent.action,
               AuditEvent.after)
        .where(AuditEvent.team_id == team_id, col(AuditEvent.action).in_([*STATUS_ACTIONS, RECYCLED]),
               col(AuditEvent.at) <= as_of)
    ).all()
    recycles: set[int] = set()
    for initiative_id, at, event_id, action, after in sorted(status_rows, key=lambda row: (row[1], row[2])):
        if action == RECYCLED:
            recycles.add(event_id)
        elif history := initiatives.get(initiative_id) or hidden.get(initiative_id):
            after = after or {}
            history.statuses.append(StatusChange(at, STATUS_ACTIONS[action], str(after.get("reason") or ""),
                                                 str(after.get("lessons") or "")))
    in_digest = _reviews_open(team_id, after=since, until=as_of)
    reviews = {
        row[0]: Review(*row)
        for row in connection.execute(
            select(GateReview.id, GateReview.initiative_id, GateReview.gate_slug, GateReview.state,
                   _instant(GateReview.closed_at, "closed_at"), GateReview.close_reason, GateReview.sla_business_days)
            .where(in_digest)
        )
        if row[1] in initiatives
    }
    # Sign-offs are decided while their review is open, and closing it cancels the pending ones. So one pending
    # at as_of belongs to a review open then (one of `reviews`), and one decided in the year to a review open
    # in the year: read through those reviews, SQLite fetches each review's sign-offs together instead of
    # every sign-off of the team one by one through the team's index (4-5x slower).
    pending = [
        PendingSignOff(review_id, role, assignee, requested_at)
        for initiative_id, review_id, role, assignee, requested_at in connection.execute(
            select(GateReview.initiative_id, SignOff.review_id, SignOff.role, SignOff.assignee,
                   _instant(SignOff.requested_at, "requested_at"))
            .join(SignOff, col(SignOff.review_id) == GateReview.id)
            .where(in_digest, col(SignOff.requested_at) <= as_of,
                   or_(col(SignOff.decided_at).is_(None), col(SignOff.decided_at) > as_of))
        )
        if initiative_id in initiatives
    ]
    turnarounds: dict[str, list[timedelta]] = {}
    for initiative_id, role, requested_at, decided_at in connection.execute(
        select(GateReview.initiative_id, SignOff.role, _instant(SignOff.requested_at, "requested_at"),
               _instant(SignOff.decided_at, "decided_at"))
        .join(SignOff, col(SignOff.review_id) == GateReview.id)
        .where(_reviews_open(team_id, after=as_of - LOOKBACK, until=as_of), col(SignOff.requested_at) <= as_of,
               col(SignOff.state).in_(TURNAROUND_STATES), col(SignOff.decided_at) > as_of - LOOKBACK,
               col(SignOff.decided_at) <= as_of)
    ):
        if initiative_id in initiatives:
            turnarounds.setdefault(role, []).append(decided_at - requested_at)
    holds = [
        Hold(initiative_id, revisit_on, reason)
        for initiative_id, revisit_on, reason in connection.execute(
            select(InitiativeOutcome.initiative_id, InitiativeOutcome.revisit_on, InitiativeOutcome.reason)
            .where(InitiativeOutcome.team_id == team_id, InitiativeOutcome.kind == "hold",
                   col(InitiativeOutcome.decided_at) <= as_of,
                   or_(col(InitiativeOutcome.ended_at).is_(None), col(InitiativeOutcome.ended_at) > as_of))
        )
        if initiative_id in initiatives
    ]
    flags = [
        Flag(initiative_id, kind, detail, raised_at)
        for initiative_id, kind, detail, raised_at in connection.execute(
            select(InitiativeFlag.initiative_id, InitiativeFlag.kind, InitiativeFlag.detail,
                   _instant(InitiativeFlag.raised_at, "raised_at"))
            .where(InitiativeFlag.team_id == team_id, col(InitiativeFlag.raised_at) <= as_of,
                   or_(col(InitiativeFlag.cleared_at).is_(None), col(InitiativeFlag.cleared_at) > as_of))
        )
        if initiative_id in initiatives
    ]
    # Dates, not moments: a day's margin covers every zone; `metrics.past_target` compares in the digest's.
    targets = {review_id: target for initiative_id, review_id, target in connection.execute(
        select(GateReview.initiative_id, GateReview.id, GateReview.next_target_on)
        .where(GateReview.team_id == team_id, GateReview.state == "passed",
               col(GateReview.next_target_on) < (as_of + timedelta(days=1)).date())
    ) if initiative_id in initiatives}
    expired_waivers = [OpenWaiver(*row) for row in connection.execute(
        select(TrackedItem.initiative_id, TrackedItem.number, TrackedItem.text, TrackedItem.owner, TrackedItem.due_on)
        .where(TrackedItem.team_id == team_id, TrackedItem.kind == "waiver", col(TrackedItem.created_at) <= as_of,
               or_(col(TrackedItem.closed_at).is_(None), col(TrackedItem.closed_at) > as_of))
        .order_by(col(TrackedItem.due_on), col(TrackedItem.id))
    ) if row[0] in initiatives]
    calendar = work_calendar(session, team_id=team_id, default_zone=default_zone,
                             people={sign_off.assignee for sign_off in pending})
    return DigestData(catalog=catalog, initiatives=initiatives, reviews=reviews, pending=pending,
                      turnarounds=turnarounds, calendar=calendar, recycles=frozenset(recycles), holds=holds,
                      flags=flags, targets=targets, expired_waivers=expired_waivers, hidden=hidden)


def _reviews_open(team_id: str, *, after: datetime, until: datetime) -> Any:
    """Reviews open at some moment of (after, until]."""
    return (GateReview.team_id == team_id) & (col(GateReview.opened_at) <= until) & or_(
        col(GateReview.closed_at).is_(None), col(GateReview.closed_at) > after)
