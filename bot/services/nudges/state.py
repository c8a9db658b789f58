"""What the nudge policy reads from the database, in a fixed number of queries per workspace (never one per
person), and the snoozes people set from a nudge."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.services.access.service import Actor, active_delegations, list_admins, zone_for
from bot.services.business_days import next_monday_morning, next_working_morning
from bot.services.errors import InvalidInput
from bot.services.gates.service import catalog_for
from bot.services.nudges.policy import ESCALATION, NUDGE, History, World
from bot.services.reviews.service import work_calendar
from bot.services.waiting.service import escalation_targets, people_waited_on, what_waits
from storage.models import NudgeLog, NudgeSnooze

HISTORY_DAYS = 45  # longer than any cadence: a reminder older than this counts as none
SNOOZE_CHOICES = ("1d", "monday")


def load_world(session: Session, *, team_id: str, now: datetime, default_zone: ZoneInfo,
               admin_user_ids: frozenset[str]) -> World:
    """Everything `plan` needs for one workspace."""
    catalog = catalog_for(session, team_id=team_id)
    waiting = what_waits(session, team_id=team_id, catalog=catalog, kpis_due_by=kpis_due_by(now))
    calendar = work_calendar(session, team_id=team_id, default_zone=default_zone)  # the deadlines' one rule
    return World(
        pending=waiting.sign_offs,
        open_items=waiting.items,
        kpi_updates=waiting.kpi_updates,
        default_zone=default_zone,
        zones=calendar.zones,
        holidays=calendar.holidays,
        delegations=active_delegations(session, team_id=team_id, now=now),
        snoozes=dict(session.exec(select(NudgeSnooze.user_id, NudgeSnooze.until)
                                  .where(NudgeSnooze.team_id == team_id)).all()),
        admins=[entry.user_id for entry in list_admins(session, team_id=team_id, admin_user_ids=admin_user_ids)],
        history=history(session, team_id=team_id, since=now.date() - timedelta(days=HISTORY_DAYS)),
    )


def kpis_due_by(now: datetime) -> date:
    """Anyone's today is at most a day from UTC's: the policy keeps the KPI updates due in each owner's own zone."""
    return (now + timedelta(days=1)).date()


def history(session: Session, *, team_id: str, since: date) -> History:
    last_reminded: dict[int, date] = {}
    last_escalated: dict[tuple[str, int], date] = {}
    last_sent: dict[tuple[str, str], tuple[date, datetime]] = {}
    item_reminded: dict[int, date] = {}
    item_escalated: dict[tuple[str, int], date] = {}
    logs = session.exec(
        select(NudgeLog.recipient, NudgeLog.kind, NudgeLog.local_date, NudgeLog.created_at, NudgeLog.reminded_ids,
               NudgeLog.reminded_item_ids)
        .where(NudgeLog.team_id == team_id, col(NudgeLog.local_date) >= since)
        .order_by(col(NudgeLog.local_date), col(NudgeLog.id))
    )
    for recipient, kind, day, created_at, reminded, reminded_items in logs:
        last_sent[(recipient, kind)] = (day, created_at)
        for sign_off_id in _ints(reminded):
            if kind == NUDGE:
                last_reminded[sign_off_id] = day
            elif kind == ESCALATION:
                last_escalated[(recipient, sign_off_id)] = day
        for item_id in _ints(reminded_items):
            if kind == NUDGE:
                item_reminded[item_id] = day
            elif kind == ESCALATION:
                item_escalated[(recipient, item_id)] = day
    return History(last_reminded=last_reminded, last_escalated=last_escalated, last_sent=last_sent,
                   item_last_reminded=item_reminded, item_last_escalated=item_escalated)


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
    """Everyone a sweep may message: those something waits on, their delegates, escalation targets, admins."""
    assignees = people_waited_on(session, team_id=team_id, kpis_due_by=kpis_due_by(now))
    targets = escalation_targets(session, team_id=team_id)
    delegates = set(active_delegations(session, team_id=team_id, now=now).values())
    admins = {entry.user_id for entry in list_admins(session, team_id=team_id, admin_user_ids=admin_user_ids)}
    return assignees | targets | delegates | admins
