"""Entry points for tests that race separate OS processes (multiprocessing, spawn context).

Each worker builds its own engine, waits at the barrier so that all of them start together, does one thing,
and reports what it saw through a queue.
"""

from __future__ import annotations

import traceback
from typing import Any

from bot.config import Settings
from bot.runtime import Runtime
from bot.services.reviews import service as reviews
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import GateReview, SignOff
from tests.support.factories import actor


def _runtime(database_url: str) -> Runtime:
    return Runtime(settings=Settings(_env_file=None, database_url=database_url), engine=make_engine(database_url))


def approve_sign_off(database_url: str, sign_off_id: int, user_id: str, barrier: Any, results: Any) -> None:
    runtime = _runtime(database_url)
    # On PostgreSQL both processes read the pending sign-off before either writes: the hardest interleaving.
    # SQLite takes its write lock when the transaction begins (BEGIN IMMEDIATE), so there they meet just before.
    meet_inside = runtime.engine.dialect.name == "postgresql"
    try:
        if not meet_inside:
            barrier.wait(timeout=30)
        with runtime.transaction() as session:
            sign_off = session.get(SignOff, sign_off_id)
            review = session.get(GateReview, sign_off.review_id)
            items = [item.id for item in reviews.checklist_of(session, sign_off, review)]
            if meet_inside:
                barrier.wait(timeout=30)
            decision = reviews.approve(session, actor=actor(user_id), sign_off_id=sign_off_id, ticked=items)
        results.put(("recorded" if decision.recorded else "already", decision.gate_passed))
    except Exception:  # noqa: BLE001 (the parent test must see every failure, whatever it is)
        results.put(("error", traceback.format_exc()))
    finally:
        runtime.engine.dispose()


def upgrade_database(database_url: str, barrier: Any, results: Any) -> None:
    engine = make_engine(database_url)
    try:
        barrier.wait(timeout=30)
        upgrade(engine)
        results.put(("ok", None))
    except Exception:  # noqa: BLE001 (the parent test must see every failure, whatever it is)
        results.put(("error", traceback.format_exc()))
    finally:
        engine.dispose()
