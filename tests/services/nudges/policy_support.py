"""Run the pure nudge policy over simulated time, as a sweep every 15 minutes would, remembering what it sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.services.nudges.policy import ESCALATION, NUDGE, History, Notice, Pending, World, plan


def pending(sign_off_id: int, assignee: str, requested_at: datetime, *, key: str = "AI-1", sla: int = 5,
            first: int = 2, every: int = 2, escalate_to: str | None = "USPONSOR") -> Pending:
    return Pending(sign_off_id=sign_off_id, initiative_key=key, initiative_title=f"Initiative {key}",
                   gate_name="Pilot approval", role="business", role_name="Business owner", assignee=assignee,
                   requested_at=requested_at, sla_business_days=sla, nudge_first_after=first, nudge_every=every,
                   escalate_to=escalate_to)


def local(year: int, month: int, day: int, hour: int, minute: int, zone: str) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


def simulate(world: World, start: datetime, end: datetime, *, step: timedelta = timedelta(minutes=15),
             on_step=None) -> list[tuple[datetime, Notice]]:  # type: ignore[no-untyped-def]
    """Sweep from `start` to `end`; what the sweeps sent, each with the moment it was sent (UTC)."""
    sent: list[tuple[datetime, Notice]] = []
    now = start.astimezone(UTC)
    while now <= end:
        if on_step is not None:
            world = on_step(world, now)
        for notice in plan(world, now).notices:
            sent.append((now, notice))
            world = replace(world, history=_remember(world.history, notice, now))
        now += step
    return sent


def _remember(history: History, notice: Notice, now: datetime) -> History:
    last_reminded, last_escalated = dict(history.last_reminded), dict(history.last_escalated)
    for sign_off_id in notice.reminded_ids:
        if notice.kind == NUDGE:
            last_reminded[sign_off_id] = notice.local_date
        elif notice.kind == ESCALATION:
            last_escalated[(notice.recipient, sign_off_id)] = notice.local_date
    last_sent = {**history.last_sent, (notice.recipient, notice.kind): (notice.local_date, now)}
    return History(last_reminded=last_reminded, last_escalated=last_escalated, last_sent=last_sent)


def sends_to(sent: list[tuple[datetime, Notice]], recipient: str, zone: str, kind: str = NUDGE) -> list[str]:
    """When `recipient` got each message, on their own wall clock: 'Tue 2026-03-10 09:00'."""
    return [f"{at.astimezone(ZoneInfo(zone)):%a %Y-%m-%d %H:%M}" for at, n in sent
            if n.recipient == recipient and n.kind == kind]
