"""Benchmark: the weekly digest over 10,000 initiatives and 100,000+ audit and stage events.

    .venv/bin/python bench/bench_digest.py [--backend sqlite|postgresql|both] [--initiatives 10000] [--runs 5]

Reports, per backend: the digest's compute time (load + metrics, median of the runs), the number of SQL
statements it issued (counted with a SQLAlchemy `before_cursor_execute` listener), the time of ONE aggregate SQL
query over the same tables and the ratio between the two, and the chart's render time. Results and the machine
are recorded in docs/benchmarks-digest.md. PostgreSQL runs on a scratch database of TEST_POSTGRES_URL's server.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import make_url
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.services.digest.chart import render_chart
from bot.services.digest.service import channel_audience, compute_digest
from bot.services.gates.workspaces import ensure_workspace
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import AuditEvent, Digest, GateReview, Initiative, SignOff, StageTransition
from tests.services.digest.bulk import insert_portfolio
from tests.support.postgres import scratch_database

TEAM = "T0BENCH"
AS_OF = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")  # DEFAULT_TIMEZONE: no assignee's zone is known here


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{directory}/bench.db"


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args: object) -> None:
        self.count += 1


def timed(runs: int, action: Callable[[], object]) -> tuple[float, object]:
    action()  # warm-up: connections, caches, imports
    samples, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def aggregate_query(session: Session) -> object:
    """ONE aggregate statement over the digest's tables: active per stage, plus counts from each other table."""
    def count(model: type, column: object) -> object:
        return select(func.count()).select_from(model).where(column == TEAM).scalar_subquery()

    return session.execute(
        select(Initiative.stage, func.count(),
               count(StageTransition, StageTransition.team_id), count(AuditEvent, AuditEvent.team_id),
               count(GateReview, GateReview.team_id), count(SignOff, SignOff.team_id))
        .where(Initiative.team_id == TEAM, Initiative.status == "active").group_by(Initiative.stage)
    ).all()


def bench(url: str, initiatives: int, runs: int) -> dict[str, object]:
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        ensure_workspace(session, team_id=TEAM, name="Bench")
        session.commit()
        started = time.perf_counter()
        events = insert_portfolio(session, team_id=TEAM, count=initiatives, as_of=AS_OF)
        session.commit()
        loaded = time.perf_counter() - started
    digest = Digest(team_id=TEAM, name="bench", channel_id="C1", timezone="Europe/Berlin", created_by="bench")
    counter = StatementCounter(engine)
    with Session(engine) as session:
        before = counter.count
        audience = channel_audience(digest)
        compute_digest(session, digest=digest, as_of=AS_OF, audience=audience, default_zone=BERLIN)
        statements = counter.count - before
        digest_time, report = timed(runs, lambda: compute_digest(session, digest=digest, as_of=AS_OF,
                                                                 audience=audience, default_zone=BERLIN))
        aggregate_time, _ = timed(runs, lambda: aggregate_query(session))
    chart_time, png = timed(runs, lambda: render_chart(report))  # type: ignore[arg-type]
    engine.dispose()
    return {"backend": make_url(url).get_backend_name(), "initiatives": initiatives, "events": events,
            "insert_s": loaded, "digest_s": digest_time, "statements": statements, "aggregate_s": aggregate_time,
            "ratio": digest_time / aggregate_time, "chart_s": chart_time, "png_bytes": len(png)}  # type: ignore[arg-type]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {system}"


def load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--initiatives", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    print(f"Machine: {machine()}")
    print(f"Load average (1, 5, 15 min) before: {load()}")
    print("| backend | initiatives | audit+stage events | digest (median) | SQL statements | one aggregate query "
          "| ratio | chart render |")
    print("|---|---|---|---|---|---|---|---|")
    for backend in backends:
        with (sqlite_url() if backend == "sqlite" else scratch_database(prefix="ib_bench")) as url:
            r = bench(url, args.initiatives, args.runs)
        print(f"| {r['backend']} | {r['initiatives']:,} | {r['events']:,} | {r['digest_s'] * 1000:.0f} ms "
              f"| {r['statements']} | {r['aggregate_s'] * 1000:.1f} ms | {r['ratio']:.1f}x "
              f"| {r['chart_s'] * 1000:.0f} ms |", flush=True)
    print(f"Load average (1, 5, 15 min) after: {load()}")  # other processes on the machine skew every number
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
