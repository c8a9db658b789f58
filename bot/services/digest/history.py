"""Load what the digest needs with a fixed number of queries, whatever the portfolio's size.

Six SELECTs (plus platform's failed-outbox query, made by the caller): the newest gate definition, initiatives,
stage transitions, status changes from the audit trail, gate reviews and sign-offs. Only the columns used are
read, as plain rows; everything else happens in pure functions (`metrics.py`).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import DateTime, Dialect, String, or_, select, type_coerce
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Session, col

from bot.services.catalog import GateCatalog
from bot.services.workspaces import catalog_for
from storage.models import AuditEvent, GateReview, Initiative, SignOff, StageTransition


class _Instant(TypeDecorator[datetime]):
    """A UTCDateTime column read in bulk: the same aware UTC values, parsed by `datetime.fromisoformat` (C) on
    SQLite, where SQLAlchemy's generic DATETIME parser costs several times more per value. Read-only."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(String() if dialect.name == "sqlite" else DateTime(timezone=True))

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _instant(column: Any, name: str) -> Any:
    return type_coerce(column, _Instant()).label(name)


# Audit actions that change an initiative's status, and the status each one sets.
STATUS_ACTIONS = {"initiative.paused": "paused", "initiative.active": "active", "initiative.retired": "retired"}
LOOKBACK = timedelta(days=365)
# Decisions that count for turnaround: the role's owner answered (a waiver is an admin's, a cancel nobody's).
TURNAROUND_STATES = ("approved", "changes_requested")


class Transition(NamedTuple):
    at: datetime
    from_stage: str | None
    to_stage: str
    review_id: int | None
    reason: str


class StatusChange(NamedTuple):
    at: datetime
    status: str
    reason: str


Change = TypeVar("Change", Transition, StatusChange)


@dataclass
class InitiativeHistory:
    """One initiative's stage transitions and status changes up to as_of, each oldest first."""

    id: int
    key: str
    title: str
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


class SignOffRow(NamedTuple):
    review_id: int
    initiative_id: int
    role: str
    assignee: str
    state: str
    requested_at: datetime
    decided_at: datetime | None


@dataclass
class DigestData:
    catalog: GateCatalog
    initiatives: dict[int, InitiativeHistory]
    reviews: dict[int, Review]  # open at as_of, or closed after the week began
    sign_offs: list[SignOffRow]  # pending at as_of, or decided (approved/changes requested) in the last year


def load_digest_data(
    session: Session, *, team_id: str, as_of: datetime, since: datetime, tag: str | None = None,
    business_unit: str | None = None,
) -> DigestData:
    """Everything the digest as of `as_of` (its week beginning at `since`) needs, for the initiatives matching
    the filter (a tag, or a team/business unit)."""
    catalog = catalog_for(session, team_id=team_id)
    connection = session.connection()  # Core rows: no ORM bookkeeping for 100,000 plain tuples
    initiatives: dict[int, InitiativeHistory] = {}
    wanted_unit = (business_unit or "").strip().lower()
    wanted_tag = (tag or "").strip().lower()
    for row in connection.execute(
        select(Initiative.id, Initiative.number, Initiative.title, Initiative.tags, Initiative.business_unit)
        .where(Initiative.team_id == team_id, col(Initiative.created_at) <= as_of)
    ):
        if wanted_tag and wanted_tag not in (row.tags or []):
            continue
        if wanted_unit and row.business_unit.strip().lower() != wanted_unit:
            continue
        initiatives[row.id] = InitiativeHistory(id=row.id, key=f"AI-{row.number}", title=row.title)
    for initiative_id, *fields in connection.execute(
        select(StageTransition.initiative_id, _instant(StageTransition.at, "at"), StageTransition.from_stage,
               StageTransition.to_stage, StageTransition.review_id, StageTransition.reason)
        .where(StageTransition.team_id == team_id, col(StageTransition.at) <= as_of)
        .order_by(col(StageTransition.at))
    ):
        if history := initiatives.get(initiative_id):
            history.transitions.append(Transition(*fields))
    for row in connection.execute(
        select(AuditEvent.initiative_id, _instant(AuditEvent.at, "at"), AuditEvent.action, AuditEvent.after)
        .where(AuditEvent.team_id == team_id, col(AuditEvent.action).in_(STATUS_ACTIONS),
               col(AuditEvent.at) <= as_of)
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    ):
        if history := initiatives.get(row.initiative_id):
            reason = str((row.after or {}).get("reason") or "")
            history.statuses.append(StatusChange(row.at, STATUS_ACTIONS[row.action], reason))
    reviews = {
        row[0]: Review(*row)
        for row in connection.execute(
            select(GateReview.id, GateReview.initiative_id, GateReview.gate_slug, GateReview.state,
                   _instant(GateReview.closed_at, "closed_at"), GateReview.close_reason, GateReview.sla_business_days)
            .where(GateReview.team_id == team_id, col(GateReview.opened_at) <= as_of,
                   or_(col(GateReview.closed_at).is_(None), col(GateReview.closed_at) > since))
        )
        if row[1] in initiatives
    }
    pending_at_as_of = or_(col(SignOff.decided_at).is_(None), col(SignOff.decided_at) > as_of)
    decided_this_year = col(SignOff.state).in_(TURNAROUND_STATES) & (col(SignOff.decided_at) > as_of - LOOKBACK)
    sign_offs = [
        SignOffRow(*row)
        for row in connection.execute(
            select(SignOff.review_id, GateReview.initiative_id, SignOff.role, SignOff.assignee, SignOff.state,
                   _instant(SignOff.requested_at, "requested_at"), _instant(SignOff.decided_at, "decided_at"))
            .join(GateReview, col(GateReview.id) == SignOff.review_id)
            .where(SignOff.team_id == team_id, col(SignOff.requested_at) <= as_of,
                   or_(pending_at_as_of, decided_this_year))
        )
        if row[1] in initiatives
    ]
    return DigestData(catalog=catalog, initiatives=initiatives, reviews=reviews, sign_offs=sign_offs)
