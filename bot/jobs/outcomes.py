"""The hold revisit job: every TICK_MINUTES, and once at start-up, the outcomes domain's `send_revisit_prompts`
(bot/services/outcomes/scheduled.py), handed how the prompt reads in Slack."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from bot.runtime import Runtime
from bot.services.outcomes import scheduled
from bot.services.outcomes.scheduled import RevisitDue
from bot.views.outcomes import revisit_prompt
from storage.types import utcnow


def prompt_payload(due: RevisitDue) -> dict[str, Any]:
    return revisit_prompt(due).payload()


def send_revisit_prompts(runtime: Runtime, *, now: datetime | None = None) -> int:
    return scheduled.send_revisit_prompts(runtime, render=prompt_payload, now=now)


def register(scheduler, runtime: Runtime, client: WebClient) -> None:  # type: ignore[no-untyped-def]
    """Add the revisit job to an APScheduler 3 scheduler. Each run decides from the database what is due, so a
    missed run needs no catch-up."""
    scheduler.add_job(send_revisit_prompts, "interval", minutes=scheduled.TICK_MINUTES, args=(runtime,),
                      id="hold_revisit_prompts", replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=utcnow())
