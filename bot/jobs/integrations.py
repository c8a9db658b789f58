"""Integration jobs: deliver webhooks; check evidence links and automatic (MLflow) checks that are due, and the age
of each initiative's MLflow model. The work is the webhooks domain's (bot/services/webhooks/scheduled.py) and the
attestation domain's (bot/services/attestation/scheduled.py)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.runtime import Runtime
from bot.services.attestation.scheduled import check_model_ages
from bot.services.webhooks import scheduled as webhooks
from bot.services.webhooks.scheduled import deliver_webhooks
from storage.types import utcnow

WEBHOOK_TICK_SECONDS = 15
CHECK_TICK_SECONDS = 60


def run_checks(runtime: Runtime) -> None:
    """The integration-checks job: due evidence links and automatic checks, then the models' ages."""
    webhooks.run_checks(runtime)
    check_model_ages(runtime)


def register(scheduler, runtime: Runtime, client: WebClient) -> None:  # type: ignore[no-untyped-def]
    """Webhook deliveries every WEBHOOK_TICK_SECONDS; due evidence links, automatic checks and model ages every
    minute."""
    scheduler.add_job(deliver_webhooks, "interval", seconds=WEBHOOK_TICK_SECONDS, args=(runtime,),
                      id="webhook_delivery", replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=utcnow())
    scheduler.add_job(run_checks, "interval", seconds=CHECK_TICK_SECONDS, args=(runtime,),
                      id="integration_checks", replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=utcnow())
