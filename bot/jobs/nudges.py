"""The nudge job: every NUDGE_SWEEP_MINUTES, and once at start-up, the nudges domain's sweep
(bot/services/nudges/scheduled.py), handed how a notice reads in Slack and how users.info and dnd.info are asked.
Every run evaluates the policy at its own `now`, so a missed run needs no catch-up."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.adapters.nudges import notice_payload, slack_dnd, slack_profiles
from bot.runtime import Runtime
from bot.services.nudges.scheduled import run_sweep
from storage.types import utcnow


def register(scheduler, runtime: Runtime, client: WebClient) -> None:  # type: ignore[no-untyped-def]
    """Add the nudge sweep to an APScheduler 3 scheduler: every NUDGE_SWEEP_MINUTES, and once at start-up."""
    scheduler.add_job(run_sweep, "interval", minutes=runtime.settings.nudge_sweep_minutes, args=(runtime,),
                      kwargs={"render": notice_payload, "profiles": slack_profiles(client),
                              "do_not_disturb": slack_dnd(client)},
                      id="nudge_sweep", replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=utcnow())
