"""The daily prune (bot/services/retention/scheduled.py): checked every hour (and at start-up), run by the first replica
to claim the UTC day."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.runtime import Runtime
from bot.services.retention.scheduled import daily_prune
from storage.types import utcnow

CHECK_HOURS = 1


def register(scheduler, runtime: Runtime, client: WebClient) -> None:  # type: ignore[no-untyped-def]
    scheduler.add_job(daily_prune, "interval", hours=CHECK_HOURS, args=(runtime,), id="prune",
                      replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=None,
                      next_run_time=utcnow())
