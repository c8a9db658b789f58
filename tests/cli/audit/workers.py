"""Entry points for audit tests that append from separate OS processes (multiprocessing, spawn context)."""

from __future__ import annotations

import traceback
from typing import Any

from bot.services.audit.service import record_audit
from storage.db import make_engine, session_scope
from tests.support.factories import TEAM


def append_events(database_url: str, writer: str, count: int, barrier: Any, results: Any) -> None:
    """Append `count` events, one transaction each, starting together with the other writers."""
    engine = make_engine(database_url)
    try:
        barrier.wait(timeout=30)
        for number in range(count):
            with session_scope(engine) as session:
                record_audit(session, team_id=TEAM, actor=writer, action="test.appended", subject_type="test",
                             subject_key=f"{writer}/{number}", after={"n": number})
        results.put(("ok", writer))
    except Exception:  # noqa: BLE001 (the parent test must see every failure, whatever it is)
        results.put(("error", traceback.format_exc()))
    finally:
        engine.dispose()
