"""Benchmark: `initiative-bot import` of a 10,000-row portfolio with 200 distinct owners, against a baseline.

    .venv/bin/python bench/bench_import.py [--rows 10000] [--owners 200] [--rounds 3] [--backend sqlite|postgresql|both]

Each round, on a fresh database per backend (a temporary SQLite file, or a scratch PostgreSQL database on
TEST_POSTGRES_URL's server):
1. **import**: `initiative-bot import FILE` through the real CLI entry point, in this process (its output to
   /dev/null): read and check the CSV, plan against the database, write everything in one transaction;
2. **again**: the same file once more, which changes nothing (every row matched and compared);
3. **baseline**: on another fresh database, the rows the import wrote (initiatives, their audit events, first
   transitions and owners, read back from the first database) inserted again with one multi-row INSERT per table
   in one transaction: the database's own cost of those rows, with no parsing, checking or hashing.
The ratio import / baseline says what the import adds on top of writing its rows. Owners are Slack user ids:
e-mail addresses would add one users.lookupByEmail per distinct address, which Slack limits to about 50 a minute.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, scratch_database
from bot.cli import main
from bot.services.gates.workspaces import ensure_workspace
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import AuditEvent, Initiative, OwnerAssignment, StageTransition, Workspace

TEAM = "T0BENCH"
WRITTEN = (Initiative, AuditEvent, StageTransition, OwnerAssignment)  # in foreign-key order
STAGES = ("idea", "idea", "pilot", "production", "scaled")
WORDS = ("churn", "invoice", "forecast", "fraud", "routing", "pricing", "triage", "matching", "demand", "quality")


def portfolio(path: Path, *, rows: int, owners: int) -> None:
    random.seed(15)
    people = [f"U{n:08d}" for n in range(owners)]
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["title", "stage", "risk_tier", "business_owner", "data_owner", "engineering_owner",
                         "sponsor", "kpi_name", "kpi_baseline", "kpi_target", "tags", "business_unit", "created",
                         "description"])
        for n in range(rows):
            words = " ".join(random.sample(WORDS, 3))
            writer.writerow([f"{words.capitalize()} {n}", random.choice(STAGES),
                             random.choice(("low", "medium", "high")), *random.sample(people, 4),
                             f"{words.split()[0]} rate", f"{random.randint(1, 40)}%", f"{random.randint(41, 90)}%",
                             ", ".join(random.sample(WORDS, 2)), f"Unit {n % 12}",
                             f"202{random.randint(3, 5)}-0{random.randint(1, 9)}-1{random.randint(0, 9)}",
                             f"Initiative {n}: {words}; owned by the {words.split()[1]} team."])


def prepared(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        ensure_workspace(session, team_id=TEAM, name="Bench Corp")
    engine.dispose()


def timed_import(url: str, file: Path) -> float:
    os.environ["DATABASE_URL"] = url
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        started = time.perf_counter()
        code = main(["import", str(file)])
        elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"import failed with exit code {code}")
    return elapsed


def written_rows(url: str) -> dict[type, list[dict]]:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = {model: [dict(row._mapping) for row in connection.execute(
                    select(model.__table__).where(model.__table__.c.team_id == TEAM))]  # type: ignore[attr-defined]
                for model in WRITTEN}
    engine.dispose()
    rows[AuditEvent] = [row for row in rows[AuditEvent] if row["action"] == "initiative.imported"]
    return rows


def timed_baseline(url: str, rows: dict[type, list[dict]]) -> float:
    engine = make_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        for model in WRITTEN:
            connection.execute(insert(model.__table__), rows[model])  # type: ignore[attr-defined]
        connection.execute(Workspace.__table__.update().values(  # type: ignore[attr-defined]
            next_initiative_number=len(rows[Initiative]) + 1))
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def run(backend: str, file: Path, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"import": [], "again": [], "baseline": []}
    for _ in range(rounds):
        with scratch_database(backend, prefix="ib_bench_import") as url:
            prepared(url)
            times["import"].append(timed_import(url, file))
            times["again"].append(timed_import(url, file))
            rows = written_rows(url)
        with scratch_database(backend, prefix="ib_bench_import") as url:
            prepared(url)
            # The import's rows carry ids the fresh database has not handed out; the sequences are not needed again.
            times["baseline"].append(timed_baseline(url, rows))
    return times


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--owners", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    os.environ.pop("SLACK_BOT_TOKEN", None)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    with tempfile.TemporaryDirectory() as directory:
        file = Path(directory) / "portfolio.csv"
        portfolio(file, rows=args.rows, owners=args.owners)
        print(f"{args.rows} rows, {args.owners} distinct owners, {file.stat().st_size / 1e6:.1f} MB CSV; "
              f"{args.rounds} round(s); {machine()}")
        print("| backend | import (s) | same file again (s) | baseline: same rows, one INSERT per table (s) | "
              "import / baseline |")
        print("| --- | --- | --- | --- | --- |")
        for backend in backends:
            times = run(backend, file, args.rounds)
            med = {name: statistics.median(values) for name, values in times.items()}
            each = {name: ", ".join(f"{t:.2f}" for t in values) for name, values in times.items()}
            print(f"| {backend} | {med['import']:.2f} ({each['import']}) | {med['again']:.2f} ({each['again']}) "
                  f"| {med['baseline']:.2f} ({each['baseline']}) | {med['import'] / med['baseline']:.1f} |")


if __name__ == "__main__":
    main_bench()
