"""A readers-writer lock across xdist's worker processes, so that a test marked `deadline` runs alone.

Such a test asserts one of Slack's deadlines (an answer within 3 s) with a stated margin. The suite runs in several
workers on a machine with two cores; while it runs, every other test holds the lock shared, and a `deadline` test
waits for them to finish and keeps new ones out until it is done. The lock is two files and `flock`, so it is
released by the kernel if a worker dies.

A turnstile makes the lock prefer the writer: a `deadline` test holds it while it waits, so other workers cannot
keep taking the shared lock one after another and starve it.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _lock_files(run_id: str) -> tuple[Path, Path]:
    folder = Path(tempfile.gettempdir())
    return folder / f"initiative-bot-tests-{run_id}.turnstile", folder / f"initiative-bot-tests-{run_id}.lock"


@contextmanager
def machine(run_id: str | None, *, alone: bool) -> Iterator[None]:
    """Hold the machine shared, or `alone`; without a run id (no xdist) there is nobody to share it with."""
    if run_id is None:
        yield
        return
    turnstile_path, lock_path = _lock_files(run_id)
    with open(turnstile_path, "a") as turnstile, open(lock_path, "a") as lock:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            if not alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            if alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)


def xdist_run_id() -> str | None:
    """The id xdist gives every worker of one run alike, or None outside xdist."""
    return os.environ.get("PYTEST_XDIST_TESTRUNUID")
