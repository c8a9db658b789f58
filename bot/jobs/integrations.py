"""Integration jobs: deliver webhooks; check evidence links and automatic (MLflow) checks that are due. The
work is the webhooks domain's (bot/services/webhooks/scheduled.py)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.runtime import Runtime
from bot.services.webhooks.scheduled import deliver_webhooks, run_checks
from storage.types import utcnow

WEBHOOK_TICK_SECONDS = 15
CHECK_TICK_SECONDS = 60


def register(scheduler, runtime: Runtime, client: WebClient) -> None:  # type: ignore[no-untyped-def]
    """Webhook deliveries every WEBHOOK_TICK_SECONDS; due evidence links and automatic checks every minute."""
    scheduler.add_job(deliver_webhooks, "interval", seconds=WEBHOOK_TICK_SECONDS, args=(runtime,),
                      id="webhook_delivery", replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=utcnow())
    scheduler.add_job(run_checks, "interval", seconds=CHECK_TICK_SECONDS, args=(runtime,),
                      id="integration_checks", replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=utcnow())
