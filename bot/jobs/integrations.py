"""Integration jobs: deliver webhooks (the webhooks domain's `deliver_webhooks`); check evidence links and automatic
(MLflow) checks that are due, and the age of each initiative's MLflow model (the attestation domain's
`run_integration_checks`)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.runtime import Runtime
from bot.services.attestation.scheduled import run_integration_checks
from bot.services.webhooks.scheduled import deliver_webhooks
from storage.types import utcnow

WEBHOOK_TICK_SECONDS = 15
CHECK_TICK_SECONDS = 60


def register(scheduler, runtime: Runtime, client: WebClient) -> None:  # type: ignore[no-untyped-def]
    """Webhook deliveries every WEBHOOK_TICK_SECONDS; due evidence links, automatic checks and model ages every
    minute."""
    scheduler.add_job(deliver_webhooks, "interval", seconds=WEBHOOK_TICK_SECONDS, args=(runtime,),
                      id="webhook_delivery", replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=utcnow())
    scheduler.add_job(run_integration_checks, "interval", seconds=CHECK_TICK_SECONDS, args=(runtime,),
                      id="integration_checks", replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=utcnow())
