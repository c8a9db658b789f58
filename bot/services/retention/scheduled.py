"""The daily prune bot/jobs runs: once a UTC day, in whichever replica claims the day first (a `MaintenanceRun`
row, unique per job and day)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from bot.services.retention.service import prune
from bot.services.scheduling import JobRuntime
from storage.models.operations import MaintenanceRun
from storage.types import utcnow

JOB = "prune"


def daily_prune(runtime: JobRuntime, *, now: datetime | None = None) -> dict[str, int] | None:
    """The scheduled prune: once a UTC day, in whichever replica claims the day first; None in the others."""
    now = now or utcnow()
    try:
        with runtime.transaction() as session:
            session.add(MaintenanceRun(job=JOB, day=now.date()))
    except IntegrityError:
        return None  # another replica (or an earlier run today) took it
    return prune(runtime, now=now)
