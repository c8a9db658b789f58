"""The KPI reminder job: every TICK_MINUTES, and once at start-up, the KPI domain's `send_reminders`
(bot/services/kpis/scheduled.py), handed how the reminder reads in Slack."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from bot.runtime import Runtime
from bot.services.kpis import scheduled
from bot.services.kpis.scheduled import KpiUpdateDue
from bot.views.kpis import reminder
from storage.types import utcnow


def reminder_payload(due: KpiUpdateDue) -> dict[str, Any]:
    return reminder(due).payload()


def send_reminders(runtime: Runtime, *, now: datetime | None = None) -> int:
    return scheduled.send_reminders(runtime, render=reminder_payload, now=now)


def register(scheduler, runtime: Runtime, client: WebClient) -> None:  # type: ignore[no-untyped-def]
    """Add the KPI reminder job to an APScheduler 3 scheduler. Each run decides from the database what is due."""
    scheduler.add_job(send_reminders, "interval", minutes=scheduled.TICK_MINUTES, args=(runtime,),
                      id="kpi_reminders", replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=utcnow())
