"""Delegation: "while I'm away, @u decides for me".

A delegation covers every role its owner holds, until 23:59 on the chosen date in the owner's time zone: their
sign-offs and re-attestations, their conditions, and the KPI actuals they are asked for. The owner can still act;
the delegate may act too (audited with `on_behalf_of`: the owner), and receives the owner's nudges instead of them.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.services.access.actors import Actor
from bot.services.audit.service import record_audit
from bot.services.business_days import end_of_local_day, local_date
from bot.services.errors import InvalidInput, NotFound
from bot.services.events import DelegationEnded, emit
from bot.services.validation import check_user_id
from storage.models import Delegation

MAX_DAYS_AHEAD = 366


def parse_until(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"'{text[:40]}' is not a date; write it as YYYY-MM-DD, e.g. 2026-12-24.") from None


def delegate(session: Session, *, actor: Actor, delegate_id: str, until: date, owner_zone: ZoneInfo,
             now: datetime) -> Delegation:
    """Hand the actor's sign-offs and nudges to `delegate_id` until 23:59 on `until` (the actor's zone). A
    delegation to someone else that it replaces (in force, or lapsed and not yet ended by the delegation job) ends:
    DelegationEnded republishes that delegate's Home without the actor's items."""
    delegate_id = check_user_id(delegate_id)
    if delegate_id == actor.user_id:
        raise InvalidInput("You cannot delegate to yourself; mention the colleague who should decide for you.")
    today = local_date(now, owner_zone)
    if until < today:
        raise InvalidInput(f"{until.isoformat()} has passed; give today's date or a later one.")
    if until > today + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput(f"Delegate for at most a year: pick a date before {today.replace(year=today.year + 1)}.")
    row = session.get(Delegation, (actor.team_id, actor.user_id))
    before = _describe(row) if row else None
    if row is not None and row.delegate != delegate_id:
        emit(session, DelegationEnded(team_id=actor.team_id, actor=actor.user_id, owner=actor.user_id,
                                      delegate=row.delegate))
    if row is None:
        row = Delegation(team_id=actor.team_id, owner=actor.user_id, delegate=delegate_id, until_date=until,
                         ends_at=end_of_local_day(until, owner_zone), created_at=now)
    else:
        row.delegate, row.until_date, row.created_at = delegate_id, until, now
        row.ends_at = end_of_local_day(until, owner_zone)
    session.add(row)
    session.flush()
    record_audit(session, team_id=actor.team_id, actor=actor.user_id, action="delegation.set",
                 subject_type="delegation", subject_key=actor.user_id, before=before, after=_describe(row), at=now)
    return row


def end_delegation(session: Session, *, actor: Actor, now: datetime) -> Delegation:
    """`/initiative delegate off`: the actor decides and is nudged again from now on."""
    row = current_delegation(session, team_id=actor.team_id, owner=actor.user_id, now=now)
    if row is None:
        raise NotFound("You have no delegation to end; `/initiative delegate @someone until YYYY-MM-DD` sets one.")
    session.delete(row)
    session.flush()
    record_audit(session, team_id=actor.team_id, actor=actor.user_id, action="delegation.ended",
                 subject_type="delegation", subject_key=actor.user_id, before=_describe(row), at=now)
    emit(session, DelegationEnded(team_id=actor.team_id, actor=actor.user_id, owner=row.owner,
                                  delegate=row.delegate))
    return row


def end_lapsed(session: Session, *, now: datetime) -> list[Delegation]:
    """End every delegation whose last day is over at `now` (the delegation job): each row is deleted by a
    compare-and-set on its end, so it ends once however many replicas sweep (on PostgreSQL a second replica's
    delete waits for the first's commit, then matches no row), and one set again meanwhile is left alone. Each
    emits DelegationEnded, so the delegate's Home and the owner's are published again. Not audited: the
    `delegation.set` entry already says when it ends."""
    ended = []
    for row in session.exec(select(Delegation).where(~in_force(now))
                            .order_by(col(Delegation.team_id), col(Delegation.owner))).all():
        deleted = session.exec(delete(Delegation).where(  # type: ignore[call-overload]
            col(Delegation.team_id) == row.team_id, col(Delegation.owner) == row.owner,
            col(Delegation.ends_at) == row.ends_at))
        if deleted.rowcount == 1:
            emit(session, DelegationEnded(team_id=row.team_id, actor="system", owner=row.owner,
                                          delegate=row.delegate))
            ended.append(row)
    return ended


def in_force(now: datetime) -> ColumnElement[bool]:
    """The one rule of whether a delegation lasts at `now`, as a condition on `delegation` rows: until its end
    (23:59 on its last day in the owner's zone), that instant included. Who may act for whom (`acting_for`), whose
    desk lists what (`delegators`, `delegates_of`), the nudges (`active_delegations`), who may see a confidential
    initiative (bot.services.access.visibility) and the job that ends it (`end_lapsed`) all ask this, so none
    ends it an instant before another."""
    return col(Delegation.ends_at) >= now


def current_delegation(session: Session, *, team_id: str, owner: str, now: datetime) -> Delegation | None:
    return session.exec(select(Delegation).where(Delegation.team_id == team_id, Delegation.owner == owner,
                                                 in_force(now))).first()


def acting_for(session: Session, *, actor: Actor, people: Collection[str], now: datetime) -> str | None:
    """Whom of `people` (those entitled to act) the actor acts as: themself when one of them, else one of them who
    delegated to the actor, while the delegation lasts; None when neither."""
    if actor.user_id in people:
        return actor.user_id
    owners = set(session.exec(delegating_to(team_id=actor.team_id, delegate=actor.user_id, now=now)
                              .where(col(Delegation.owner).in_(sorted(people)))).all())
    return next((person for person in sorted(people) if person in owners), None)


def delegators(session: Session, *, team_id: str, delegate: str, now: datetime) -> list[str]:
    """Everyone who delegated to `delegate`, while the delegation lasts, in one query: what waits on them waits on
    the delegate too (their desk lists it, for whom)."""
    return sorted(session.exec(delegating_to(team_id=team_id, delegate=delegate, now=now)).all())


def delegates_of(session: Session, *, team_id: str, owners: Collection[str], now: datetime) -> set[str]:
    """Whom any of `owners` delegated to, while the delegation lasts, in one query: their desks list what waits on
    those owners too."""
    if not owners:
        return set()
    return set(session.exec(select(Delegation.delegate).where(
        Delegation.team_id == team_id, col(Delegation.owner).in_(sorted(owners)), in_force(now))))


def delegating_to(*, team_id: str, delegate: str, now: datetime) -> SelectOfScalar[str]:
    """The owners who delegate to `delegate` at `now`, as a query: for `acting_for`, `delegators` and the
    visibility rule's subquery."""
    return select(Delegation.owner).where(Delegation.team_id == team_id, Delegation.delegate == delegate,
                                          in_force(now))


def on_behalf(actor: Actor, acting_as: str | None) -> dict[str, str]:
    """What an audit entry adds when the actor acted as someone who delegated to them."""
    return {"on_behalf_of": acting_as} if acting_as and acting_as != actor.user_id else {}


def active_delegations(session: Session, *, team_id: str, now: datetime) -> dict[str, str]:
    """owner -> delegate for every delegation in force, in one query."""
    rows = session.exec(select(Delegation.owner, Delegation.delegate).where(
        Delegation.team_id == team_id, in_force(now)
    ))
    return dict(rows.all())


def _describe(row: Delegation) -> dict[str, str]:
    return {"delegate": row.delegate, "until": row.until_date.isoformat()}
