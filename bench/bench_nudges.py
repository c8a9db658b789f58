"""Benchmark: the nudge sweep's decision, and delivering its DMs under Slack's rate limits.

    .venv/bin/python bench/bench_nudges.py [--database-url URL] [--people 1000] [--sign-offs 5000] [--no-send]

1. Decision: a sweep (dry run, then the real one) over `--sign-offs` pending sign-offs held by `--people`
   people, on a fresh database (a temporary SQLite file by default; with --database-url that database is
   emptied first, so point it at a scratch one). Reports wall time and the number of SQL statements, for the
   full size and for a tenth of it: the decision's count must not grow with the number of people.
2. Sending: the sweep's DMs (one per person) delivered by one outbox sender to the Slack emulator with
   `enforce_rate_limits=True` (chat.postMessage 1/s per channel and 300/min per workspace). Reports the time
   and its ratio to the floor those limits set. The DMs take the user ID as their channel: no
   conversations.open (Tier 3, 50/min), which would set a floor of 20 minutes for 1,000 people.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, text
from sqlmodel import SQLModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.nudges import run_sweep
from bot.config import Settings
from bot.delivery.outbox import state_counts
from bot.delivery.sender import deliver_pending, make_client
from bot.presenters import render_nudge
from bot.runtime import Runtime
from bot.services.access.actors import Actor
from bot.services.gates.workspaces import ensure_workspace
from bot.services.initiatives.service import create_initiative
from bot.services.nudges.scheduled import NUDGE_INTENT
from bot.services.reviews import service as reviews
from slack_emulator import SlackEmulator
from storage.db import make_engine
from storage.migrate import upgrade

TEAM = "T0001"  # the emulator's workspace
ASKED = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)  # Monday
SWEEP_AT = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)  # Wednesday: everyone's sign-offs are due a reminder
ROLES = ("business", "data", "engineering")
SEED_BATCH = 250  # initiatives per transaction


def seed(url: str, *, people: int, sign_offs: int) -> Runtime:
    engine = make_engine(url)
    upgrade(engine)
    if engine.dialect.name == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    runtime = Runtime(settings=Settings(_env_file=None, database_url=url), engine=engine,
                      renderers={NUDGE_INTENT: render_nudge})  # nudges are intents the sender renders
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=TEAM)
    initiatives = -(-sign_offs // len(ROLES))
    for start in range(0, initiatives, SEED_BATCH):
        with runtime.transaction() as session:
            for n in range(start, min(start + SEED_BATCH, initiatives)):
                owners = {role: f"U{(len(ROLES) * n + i) % people:07d}" for i, role in enumerate(ROLES)}
                submitter = Actor(team_id=TEAM, user_id=owners["business"])
                initiative = create_initiative(session, actor=submitter, title=f"Initiative {n}", owners=owners,
                                               now=ASKED)
                reviews.submit_for_next_gate(session, actor=submitter, initiative=initiative, now=ASKED)
        # Planner statistics, as autovacuum keeps them in a database that grew over months rather than seconds.
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
    return runtime


@contextmanager
def counting(runtime: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)


def decide(runtime: Runtime, label: str) -> tuple[float, int]:
    times = []
    for _ in range(3):
        with counting(runtime) as statements:
            started = time.perf_counter()
            result = run_sweep(runtime, now=SWEEP_AT, send=False)
            times.append(time.perf_counter() - started)
    notices = len(result.teams[0].plan.notices)
    print(f"  {label}: decided {notices} DMs in {statistics.median(times):.3f} s (median of 3), "
          f"{len(statements)} SQL statements")
    return statistics.median(times), len(statements)


def send(runtime: Runtime, people: int) -> None:
    with counting(runtime) as statements:
        started = time.perf_counter()
        result = run_sweep(runtime, now=SWEEP_AT)
        elapsed = time.perf_counter() - started
    print(f"  sweep with --send: {result.written} DMs decided and written to the outbox in {elapsed:.2f} s, "
          f"{len(statements)} SQL statements (writes grow with the DMs; the decision's do not)")
    with SlackEmulator(enforce_rate_limits=True) as emulator:
        for n in range(people):
            emulator.add_user(f"U{n:07d}", f"user{n}", tz="UTC")
        settings = runtime.settings.model_copy(update={"slack_api_url": emulator.base_url,
                                                       "slack_bot_token": emulator.bot_token})
        client = make_client(settings)
        started = time.perf_counter()
        while True:
            deliver_pending(runtime, client, limit=10_000)
            with runtime.transaction() as session:
                counts = state_counts(session)
            if counts["pending"] == 0:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        calls = emulator.calls_to("chat.postMessage")
    delivered = sum(1 for call in calls if call.ok)
    limited = sum(1 for call in calls if call.status == 429)
    floor = 60.0 * ((delivered - 1) // 300)  # 300 per rolling minute; one per second per DM channel is no limit
    print(f"  sending: {delivered} DMs delivered ({counts['failed']} failed) in {elapsed:.1f} s; "
          f"{limited} answered 429; floor {floor:.0f} s; ratio {elapsed / floor:.3f}"
          if floor else f"  sending: {delivered} DMs in {elapsed:.1f} s (under one minute's quota: no floor)")
    print(f"  conversations.open calls: {len(emulator.calls_to('conversations.open'))}")


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), "
            f"Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a scratch database to empty and use (default: a temporary SQLite)")
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--sign-offs", type=int, default=5000)
    parser.add_argument("--no-send", action="store_true", help="only the decision")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{scratch}/bench.db"
        print(f"database: {make_engine(url).dialect.name}")
        small = seed(url, people=args.people // 10, sign_offs=args.sign_offs // 10)
        decide(small, f"{args.sign_offs // 10} sign-offs, {args.people // 10} people")
        small.engine.dispose()
        started = time.perf_counter()
        runtime = seed(url, people=args.people, sign_offs=args.sign_offs)
        print(f"  (seeded {args.sign_offs} sign-offs through the services in {time.perf_counter() - started:.1f} s)")
        decide(runtime, f"{args.sign_offs} sign-offs, {args.people} people")
        if not args.no_send:
            send(runtime, args.people)
        runtime.engine.dispose()


if __name__ == "__main__":
    main()
