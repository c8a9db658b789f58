"""The waiver job: every TICK_MINUTES, and once at start-up, the waivers domain's expiries and expiry warnings
(bot/services/waivers/scheduled.py), handed how the warning reads in Slack."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from bot.runtime import Runtime
from bot.services.waivers import scheduled
from bot.services.waivers.scheduled import ExpiryWarning
from bot.views.waivers import expiry_warning
from storage.types import utcnow


def warning_payload(warning: ExpiryWarning) -> dict[str, Any]:
    return expiry_warning(warning).payload()


def send_expiry_warnings(runtime: Runtime, *, now: datetime | None = None) -> int:
    return scheduled.send_expiry_warnings(runtime, render=warning_payload, now=now)


def expire_waivers(runtime: Runtime, *, now: datetime | None = None) -> int:
    return scheduled.expire_waivers(runtime, now=now)


def waiver_job(runtime: Runtime) -> None:
    """Expire what is due, then warn of what soon will be: each in its own transaction."""
    expire_waivers(runtime)
    send_expiry_warnings(runtime)


def register(scheduler, runtime: Runtime, client: WebClient) -> None:  # type: ignore[no-untyped-def]
    """Add the waiver job to an APScheduler 3 scheduler. Each run decides from the database what is due, so a
    missed run needs no catch-up."""
    scheduler.add_job(waiver_job, "interval", minutes=scheduled.TICK_MINUTES, args=(runtime,),
                      id="waiver_expiry", replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=utcnow())
