"""What a long-running bot process (`serve` worker, `socket`) runs besides answering Slack: the outbox
sender, and the scheduler.

- The outbox sender runs in every such process: claims are exclusive, so senders in several workers and
  replicas share the work safely.
- The scheduler (`bot.jobs.scheduler`) runs in one process per host and database: the first to take a lock
  file, so that `serve --workers N` does not run every job N times. When that process exits, a process started
  later (gunicorn's replacement worker, a restart) takes it over. Jobs are safe to run in several replicas
  (they coordinate through the database), so replicas on other hosts may run it too, or use `--no-scheduler`.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass, field
from typing import IO

from apscheduler.schedulers.background import BackgroundScheduler

from bot.delivery.sender import OutboxSender
from bot.jobs import scheduler
from bot.runtime import Runtime

logger = logging.getLogger(__name__)


def freeze_startup_objects() -> int:
    """Take the objects made so far (modules, the app, SQLAlchemy's mappers: over 100,000) out of the cyclic
    garbage collector's reach, and return how many this call added. Left in, every full collection walks them all
    while holding the GIL: 60-100 ms in a `serve` worker, about once per 300 commands, with every request in the
    process stopped (docs/benchmarks.md). Called once startup is done, and in gunicorn's master before each fork,
    so that the workers' collections also leave the pages they share with the master untouched (`gc.freeze`)."""
    frozen_before = gc.get_freeze_count()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count() - frozen_before


@dataclass
class BackgroundWork:
    runtime: Runtime
    run_scheduler: bool = True
    sender: OutboxSender = field(init=False)
    _scheduler: BackgroundScheduler | None = field(default=None, init=False)
    _lock_file: IO[bytes] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.sender = OutboxSender(self.runtime)

    def start(self) -> None:
        self.sender.start()
        if self.run_scheduler and self._take_lock():
            self._scheduler = scheduler.start(self.runtime)
            logger.info("scheduler started in process %s", os.getpid())

    def stop(self) -> None:
        """Let running jobs and the message in flight finish, then return."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        self.sender.stop()
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None

    def _take_lock(self) -> bool:
        database = self.runtime.engine.url.render_as_string(hide_password=True)
        name = f"initiative-bot-scheduler-{hashlib.sha256(database.encode()).hexdigest()[:16]}.lock"
        lock_file = open(os.path.join(tempfile.gettempdir(), name), "ab")  # noqa: SIM115 - held open while running
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            return False
        self._lock_file = lock_file
        return True
