"""The re-attestation job: every TICK_MINUTES, and once at start-up, the attestation domain's `run_reattestations`
(bot/services/attestation/scheduled.py). The sign-off DMs it causes are worded by the notifications, as a gate
review's are."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.runtime import Runtime
from bot.services.attestation.scheduled import TICK_MINUTES, run_reattestations
from storage.types import utcnow


def register(scheduler, runtime: Runtime, client: WebClient) -> None:  # type: ignore[no-untyped-def]
    """Add the re-attestation job to an APScheduler 3 scheduler."""
    scheduler.add_job(run_reattestations, "interval", minutes=TICK_MINUTES, args=(runtime,),
                      id="reattestations", replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=utcnow())
