"""Two admins saving at once, in two OS processes: one edit wins, the other gets the conflict message.

On PostgreSQL the loser reads version 1 while the winner's version 2 is uncommitted, so only the unique
(team_id, version) constraint stops it: the test waits until the loser is blocked on that index before letting
the winner commit. On SQLite the loser waits for the write lock and then finds its base version stale.
"""

from __future__ import annotations

import multiprocessing
import time

from sqlalchemy import text
from sqlmodel import col, select

from bot.config import load_settings
from bot.runtime import Runtime
from bot.services.errors import Conflict
from bot.services.gate_editing import service as gate_edits
from bot.services.gates.workspaces import catalog_for
from storage.db import make_engine
from storage.models import GateDefinitionVersion
from tests.support.factories import TEAM, actor


def _edit(database_url, name, user, signal, release, results) -> None:  # type: ignore[no-untyped-def]
    """Edit stage 'pilot' based on version 1. With `release`: signal once written, commit when released.
    Without: signal just before editing."""
    runtime = Runtime.from_settings(load_settings(_env_file=None, database_url=database_url))
    try:
        with runtime.transaction() as session:
            if release is None:
                signal.set()
            gate_edits.edit_stage(session, actor=actor(user, admin=True), based_on=1, stage_id="pilot", name=name,
                                  stall_after_days=90)
            if release is not None:
                signal.set()
                release.wait(60)
        results.put((user, "saved"))
    except Conflict as exc:
        results.put((user, str(exc)))


def _wait_for_lock_wait(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        for _ in range(600):
            with engine.connect() as connection:
                waiting = connection.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalar_one()
            if waiting:
                return
            time.sleep(0.05)
        raise AssertionError("the second edit never waited on the first")
    finally:
        engine.dispose()


def test_the_second_of_two_simultaneous_edits_gets_a_conflict(runtime, database_url):
    context = multiprocessing.get_context("spawn")
    first_written, second_started, release = context.Event(), context.Event(), context.Event()
    results = context.Queue()
    first = context.Process(target=_edit, args=(database_url, "Pilot A", "UANNA", first_written, release, results))
    first.start()
    assert first_written.wait(60)
    second = context.Process(target=_edit, args=(database_url, "Pilot B", "UBEN", second_started, None, results))
    second.start()
    assert second_started.wait(60)
    if runtime.engine.dialect.name == "postgresql":
        _wait_for_lock_wait(database_url)
    release.set()
    outcomes = dict(results.get(timeout=60) for _ in range(2))
    first.join(60)
    second.join(60)

    assert outcomes == {
        "UANNA": "saved",
        "UBEN": "Someone else changed the gate definitions (now version 2) since you opened version 1; reopen them "
                "and make your change again.",
    }
    with runtime.transaction() as session:
        versions = session.exec(select(GateDefinitionVersion.version).order_by(col(GateDefinitionVersion.version)))
        assert list(versions) == [1, 2]
        assert catalog_for(session, team_id=TEAM).stage("pilot").name == "Pilot A"
