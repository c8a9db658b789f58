"""The integration-check job of one replica in its own OS process (multiprocessing, spawn context), for the
claiming tests."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.config import Settings
from bot.runtime import Runtime
from bot.services.webhooks.automatic_checks import claim_due_checks
from bot.services.webhooks.evidence import claim_due_links
from storage.db import make_engine


def claim_links(database_url: str, now_iso: str, barrier: Any, results: Any) -> None:
    """What the evidence job of one replica does first: claim the links that are due."""
    _claim(database_url, barrier, results,
           lambda session: claim_due_links(session, now=datetime.fromisoformat(now_iso), limit=1000))


def claim_checks(database_url: str, now_iso: str, barrier: Any, results: Any) -> None:
    """What the automatic-check job of one replica does first: claim the checks that are due (their ids)."""
    _claim(database_url, barrier, results, lambda session: [
        check.id for check in claim_due_checks(session, now=datetime.fromisoformat(now_iso), limit=1000)])


def _claim(database_url: str, barrier: Any, results: Any, claim: Callable[[Session], list[Any]]) -> None:
    runtime = Runtime(settings=Settings(_env_file=None, database_url=database_url), engine=make_engine(database_url))
    try:
        barrier.wait(timeout=60)
        with runtime.transaction() as session:
            claimed = claim(session)
        results.put(("ok", claimed))
    except Exception:  # noqa: BLE001 (the parent test must see every failure, whatever it is)
        results.put(("error", traceback.format_exc()))
    finally:
        runtime.engine.dispose()
