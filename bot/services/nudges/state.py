"""What the nudge policy reads from the database, in a fixed number of queries per workspace (never one per
person), and the snoozes people set from a nudge."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.services.access.actors import Actor
from bot.services.access.admins import list_admins
from bot.services.access.delegation import active_delegations
from bot.services.access.people import deactivated, zone_for
from bot.services.business_days import next_monday_morning, next_working_morning
from bot.services.errors import InvalidInput
from bot.services.gates.catalog import Gate, GateCatalog
from bot.services.gates.workspaces import catalog_for
from bot.services.nudges.policy import ESCALATION, NUDGE, History, Pending, World
from bot.services.reviews.deadlines import work_calendar
from storage.models import GateReview, Initiative, NudgeLog, NudgeSnooze, OwnerAssignment, SignOff

HISTORY_DAYS = 45  # longer than any cadence: a reminder older than this counts as none
ESCALATE_TO_ROLES = ("sponsor", "business")  # the first one held is told
SNOOZE_CHOICES = ("1d", "monday")


def load_world(session: Session, *, team_id: str, now: datetime, default_zone: ZoneInfo,
               admin_user_ids: frozenset[str]) -> World:
    """Everything `plan` needs for one workspace."""
    catalog = catalog_for(session, team_id=team_id)
    pending = pending_sign_offs(session, team_id=team_id, catalog=catalog)
    calendar = work_calendar(session, team_id=team_id, default_zone=default_zone)  # the deadlines' one rule
    return World(
        pending=pending,
        default_zone=default_zone,
        zones=calendar.zones,
        holidays=calendar.holidays,
        delegations=active_delegations(session, team_id=team_id, now=now),
        snoozes=dict(session.exec(select(NudgeSnooze.user_id, NudgeSnooze.until)
                                  .where(NudgeSnooze.team_id == team_id)).all()),
        admins=[entry.user_id for entry in list_admins(session, team_id=team_id, admin_user_ids=admin_user_ids)],
        history=history(session, team_id=team_id, since=now.date() - timedelta(days=HISTORY_DAYS)),
    )


def pending_sign_offs(session: Session, *, team_id: str, catalog: GateCatalog) -> list[Pending]:
    """Pending sign-offs of open reviews of active initiatives, oldest first, with whom to escalate to.

    Cadence comes from the newest definition (an admin's change applies to reviews already open); the SLA
    from the version the review is pinned to.
    """
    open_active = (
        select(GateReview.initiative_id)
        .join(Initiative, col(Initiative.id) == GateReview.initiative_id)
        .where(GateReview.team_id == team_id, GateReview.state == "open", Initiative.status == "active")
    )
    holders: dict[int, dict[str, str]] = {}
    for initiative_id, role, user_id in session.exec(
        select(OwnerAssignment.initiative_id, OwnerAssignment.role, OwnerAssignment.user_id).where(
            OwnerAssignment.team_id == team_id, col(OwnerAssignment.role).in_(ESCALATE_TO_ROLES),
            col(OwnerAssignment.initiative_id).in_(open_active),
        )
    ):
        holders.setdefault(initiative_id, {})[role] = user_id
    # Columns, not entities: a sweep reads thousands of rows, and the JSON columns it does not need are costly.
    rows = session.exec(
        select(SignOff.id, SignOff.role, SignOff.assignee, SignOff.requested_at, GateReview.gate_slug,
               GateReview.sla_business_days, Initiative.id, Initiative.number, Initiative.title)
        .join(GateReview, col(GateReview.id) == SignOff.review_id)
        .join(Initiative, col(Initiative.id) == GateReview.initiative_id)
        .where(SignOff.team_id == team_id, SignOff.state == "pending", GateReview.state == "open",
               Initiative.status == "active",
               # A deactivated owner is not nudged: the sponsor and admins were asked to reassign instead.
               ~deactivated(team_id, SignOff.assignee))
        .order_by(col(SignOff.requested_at), col(SignOff.id))
    )
    gates = {gate.id: gate for gate in catalog.gates}
    result = []
    for sign_off_id, role, assignee, requested_at, gate_slug, sla, initiative_id, number, title in rows:
        # A gate the newest definition dropped keeps the default cadence.
        gate = gates.get(gate_slug) or Gate(id=gate_slug, name=gate_slug, from_stage="", to_stage="",
                                            required_roles={}, checklist={})
        roles = holders.get(initiative_id, {})
        result.append(Pending(
            sign_off_id=sign_off_id, initiative_key=f"AI-{number}", initiative_title=title, gate_name=gate.name,
            role=role, role_name=catalog.role_name(role), assignee=assignee, requested_at=requested_at,
            sla_business_days=sla, nudge_first_after=gate.nudge_first_after, nudge_every=gate.nudge_every,
            escalate_to=next((roles[r] for r in ESCALATE_TO_ROLES if r in roles), None),
        ))
    return result


def history(session: Session, *, team_id: str, since: date) -> History:
    last_reminded: dict[int, date] = {}
    last_escalated: dict[tuple[str, int], date] = {}
    last_sent: dict[tuple[str, str], tuple[date, datetime]] = {}
    logs = session.exec(
        select(NudgeLog.recipient, NudgeLog.kind, NudgeLog.local_date, NudgeLog.created_at, NudgeLog.reminded_ids)
        .where(NudgeLog.team_id == team_id, col(NudgeLog.local_date) >= since)
        .order_by(col(NudgeLog.local_date), col(NudgeLog.id))
    )
    for recipient, kind, day, created_at, reminded in logs:
        last_sent[(recipient, kind)] = (day, created_at)
        for sign_off_id in _ints(reminded):
            if kind == NUDGE:
                last_reminded[sign_off_id] = day
            elif kind == ESCALATION:
                last_escalated[(recipient, sign_off_id)] = day
    return History(last_reminded=last_reminded, last_escalated=last_escalated, last_sent=last_sent)


def snooze(session: Session, *, actor: Actor, choice: str, now: datetime, default_zone: ZoneInfo) -> datetime:
    """Quiet the actor's nudges until the next working morning ("1d") or next Monday ("monday"), their zone."""
    if choice not in SNOOZE_CHOICES:
        raise InvalidInput("That snooze button is not one of this bot's; use the buttons on the latest reminder.")
    zone = zone_for(session, team_id=actor.team_id, user_id=actor.user_id, default=default_zone)
    days = frozenset(catalog_for(session, team_id=actor.team_id).holidays)
    until = next_working_morning(now, zone, days) if choice == "1d" else next_monday_morning(now, zone, days)
    row = session.get(NudgeSnooze, (actor.team_id, actor.user_id))
    if row is None:
        row = NudgeSnooze(team_id=actor.team_id, user_id=actor.user_id, until=until, created_at=now)
    else:
        row.until, row.created_at = until, now
    session.add(row)
    session.flush()
    return until


def _ints(values: object) -> list[int]:
    return [int(v) for v in values] if isinstance(values, list) else []


def people_to_notify(session: Session, *, team_id: str, now: datetime, admin_user_ids: frozenset[str]) -> set[str]:
    """Everyone a sweep may message: assignees of pending sign-offs, their delegates, escalation targets, admins."""
    assignees = set(session.exec(
        select(SignOff.assignee).join(GateReview, col(GateReview.id) == SignOff.review_id)
        .where(SignOff.team_id == team_id, SignOff.state == "pending", GateReview.state == "open").distinct()
    ).all())
    targets = set(session.exec(
        select(OwnerAssignment.user_id).join(GateReview, col(GateReview.initiative_id) == OwnerAssignment.initiative_id)
        .where(OwnerAssignment.team_id == team_id, col(OwnerAssignment.role).in_(ESCALATE_TO_ROLES),
               GateReview.state == "open").distinct()
    ).all())
    delegates = set(active_delegations(session, team_id=team_id, now=now).values())
    admins = {entry.user_id for entry in list_admins(session, team_id=team_id, admin_user_ids=admin_user_ids)}
    return assignees | targets | delegates | admins
