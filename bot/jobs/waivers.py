"""The waiver job: every TICK_MINUTES, and once at start-up, the waivers domain's `run_waivers`
(bot/services/waivers/scheduled.py), handed how the warning reads in Slack."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.adapters.waivers import warning_payload
from bot.runtime import Runtime
from bot.services.waivers.scheduled import TICK_MINUTES, run_waivers
from storage.types import utcnow


def register(scheduler, runtime: Runtime, client: WebClient) -> None:  # type: ignore[no-untyped-def]
    """Add the waiver job to an APScheduler 3 scheduler. Each run decides from the database what is due, so a
    missed run needs no catch-up."""
    scheduler.add_job(run_waivers, "interval", minutes=TICK_MINUTES, args=(runtime,),
                      kwargs={"render": warning_payload}, id="waiver_expiry", replace_existing=True,
                      coalesce=True, max_instances=1, misfire_grace_time=None, next_run_time=utcnow())
