"""The scheduler: APScheduler 3 running each job module's jobs in a background thread.

APScheduler 3 does not coordinate processes, and its memory job store forgets missed runs on restart. Neither
matters here: every job decides what is due from the database at each run (nudges from the nudge log, digests
from their runs), and replicas are kept apart by the database (leases, unique constraints), never by the
scheduler. `bot.process.BackgroundWork` starts it inside `serve` and `socket` (unless --no-scheduler);
`initiative-bot scheduler` runs it alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from bot.delivery.slack_client import bot_client
from bot.jobs import (
    attestation,
    delegations,
    digest,
    installation,
    integrations,
    nudges,
    outcomes,
    retention,
    waivers,
)
from bot.metrics import DIGEST_RUNS, NUDGES, WEBHOOK_DELIVERIES, timed_job
from bot.runtime import Runtime
from bot.services.digest.scheduled import TickReport
from bot.services.nudges.scheduled import SweepResult
from bot.services.webhooks.scheduled import WebhookReport

# Each module exposes register(scheduler, runtime, client). Add yours with one entry.
JOB_MODULES = (nudges, digest, integrations, outcomes, retention, attestation, waivers, delegations, installation)

log = logging.getLogger(__name__)


def build(runtime: Runtime) -> BackgroundScheduler:
    """A scheduler with every job added, not yet started. Times are UTC; jobs convert to people's zones."""
    scheduler = BackgroundScheduler(timezone="UTC")
    client = bot_client(runtime.settings, timeout=10)  # the bot token as it reads at each call
    for module in JOB_MODULES:
        module.register(scheduler, runtime, client)
    for job in scheduler.get_jobs():  # not started yet: these are the pending jobs, changed in place
        job.modify(func=timed_job(job.id, job.func, RESULT_METRICS.get(job.id)))
    return scheduler


def _count_nudges(result: SweepResult) -> None:
    for team in result.teams:
        for notice in team.written:
            NUDGES.labels(notice.kind).inc()


def _count_digest_runs(report: TickReport) -> None:
    for outcome, count in (("started", len(report.started)), ("retried", len(report.retried)),
                           ("posted", report.posted), ("failed", report.failed)):
        if count:
            DIGEST_RUNS.labels(outcome).inc(count)


def _count_webhook_deliveries(report: WebhookReport) -> None:
    for outcome in ("sent", "retrying", "failed", "disabled"):
        if count := getattr(report, outcome):
            WEBHOOK_DELIVERIES.labels(outcome).inc(count)


# What a job's run returns, turned into that job's own metrics (every job's runs and duration are counted).
RESULT_METRICS: dict[str, Callable[[Any], None]] = {
    "nudge_sweep": _count_nudges,
    "digest_tick": _count_digest_runs,
    "webhook_delivery": _count_webhook_deliveries,
}


def start(runtime: Runtime) -> BackgroundScheduler:
    """Build and start the scheduler; the caller stops it with `shutdown(wait=True)`."""
    scheduler = build(runtime)
    scheduler.start()
    log.info("scheduler running: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    return scheduler
