"""The hold revisit job: every TICK_MINUTES, and once at start-up, the outcomes domain's `send_revisit_prompts`
(bot/services/outcomes/scheduled.py), handed how the prompt reads in Slack."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.adapters.outcomes import prompt_payload
from bot.runtime import Runtime
from bot.services.outcomes.scheduled import TICK_MINUTES, send_revisit_prompts
from storage.types import utcnow


def register(scheduler, runtime: Runtime, client: WebClient) -> None:  # type: ignore[no-untyped-def]
    """Add the revisit job to an APScheduler 3 scheduler. Each run decides from the database what is due, so a
    missed run needs no catch-up."""
    scheduler.add_job(send_revisit_prompts, "interval", minutes=TICK_MINUTES, args=(runtime,),
                      kwargs={"render": prompt_payload}, id="hold_revisit_prompts", replace_existing=True,
                      coalesce=True, max_instances=1, misfire_grace_time=None, next_run_time=utcnow())
