"""The delegation job: every SWEEP_MINUTES, and once at start-up, the access domain's `end_lapsed_delegations`
(bot/services/access/scheduled.py): a delegation whose last day has passed ends, and both Homes are refreshed."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.runtime import Runtime
from bot.services.access.scheduled import SWEEP_MINUTES, end_lapsed_delegations
from storage.types import utcnow


def register(scheduler, runtime: Runtime, client: WebClient) -> None:  # type: ignore[no-untyped-def]
    """Add the delegation job to an APScheduler 3 scheduler. Each run reads from the database what has ended."""
    scheduler.add_job(end_lapsed_delegations, "interval", minutes=SWEEP_MINUTES, args=(runtime,),
                      id="delegation_ends", replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=utcnow())
