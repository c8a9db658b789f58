"""The scheduler: APScheduler 3 running each job module's jobs in a background thread.

APScheduler 3 does not coordinate processes, and its memory job store forgets missed runs on restart. Neither
matters here: every job decides what is due from the database at each run (nudges from the nudge log, digests
from their runs), and replicas are kept apart by the database (leases, unique constraints), never by the
scheduler. `bot.process.BackgroundWork` starts it inside `serve` and `socket` (unless --no-scheduler);
`initiative-bot scheduler` runs it alone.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient

from bot.jobs import digest, integrations, kpis, nudges, outcomes
from bot.runtime import Runtime

# Each module exposes register(scheduler, runtime, client). Add yours with one entry.
JOB_MODULES = (nudges, digest, integrations, outcomes, kpis)

log = logging.getLogger(__name__)


def build(runtime: Runtime) -> BackgroundScheduler:
    """A scheduler with every job added, not yet started. Times are UTC; jobs convert to people's zones."""
    scheduler = BackgroundScheduler(timezone="UTC")
    settings = runtime.settings
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10)
    for job in JOB_MODULES:
        job.register(scheduler, runtime, client)
    return scheduler


def start(runtime: Runtime) -> BackgroundScheduler:
    """Build and start the scheduler; the caller stops it with `shutdown(wait=True)`."""
    scheduler = build(runtime)
    scheduler.start()
    log.info("scheduler running: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    return scheduler
