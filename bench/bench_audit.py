"""Benchmark: `initiative-bot audit verify` and `audit export` over a million-event audit chain.

    .venv/bin/python bench/bench_audit.py [--events 1000000] [--database-url URL] [--keep] [--reuse] [--verify-only]

Builds a fresh database (a temporary SQLite file by default; with --database-url, that database is emptied
first, so point it at a scratch one), seeds a workspace through the services (500 people with names, 20
initiatives), then appends the remaining events in bulk: hashed exactly as `record_audit` hashes them, but
inserted 20,000 at a time rather than one transaction each. Each measured command runs in its own process
through the real CLI entry point, which reports its wall time, CPU time (with its worker processes') and peak
resident memory (VmHWM, this process alone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlmodel import SQLModel

from bot.services.access.actors import Actor
from bot.services.audit.chain import ChainFields, canonical, chain_hash, chain_head, ref_replacements
from bot.services.audit.identity import refs_for, remember_identity
from bot.services.gates.workspaces import ensure_workspace
from bot.services.initiatives.service import create_initiative
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import AuditEvent

TEAM = "T0BENCH"
PEOPLE = [f"U{n:08d}" for n in range(500)]
INSERT_BATCH = 20_000
START = datetime(2024, 1, 1, tzinfo=UTC)


def seed(url: str, events: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    if engine.dialect.name == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    with session_scope(engine) as session:
        ensure_workspace(session, team_id=TEAM, name="Bench Corp")
        for number, user_id in enumerate(PEOPLE):
            remember_identity(session, team_id=TEAM, user_id=user_id, display_name=f"Person {number}", at=START)
        owners = {"business": PEOPLE[1], "data": PEOPLE[2], "engineering": PEOPLE[3]}
        initiative_ids = [create_initiative(session, actor=Actor(TEAM, PEOPLE[0]), title=f"Initiative {n}",
                                            owners=owners, now=START).id for n in range(20)]
    random.seed(8)
    with engine.begin() as connection:
        head, prev_hash = chain_head(connection, team_id=TEAM)
        replacements = ref_replacements(refs_for(connection, team_id=TEAM, user_ids=PEOPLE))
        batch: list[dict] = []
        for seq in range(head + 1, events + 1):
            fields = _event(seq, initiative_ids)
            digest = chain_hash(prev_hash, canonical(fields, replacements))
            batch.append({**vars(fields), "prev_hash": prev_hash, "hash": digest})
            prev_hash = digest
            if len(batch) == INSERT_BATCH:
                connection.execute(insert(AuditEvent), batch)
                batch = []
        if batch:
            connection.execute(insert(AuditEvent), batch)
    engine.dispose()


def _event(seq: int, initiative_ids: list[int]) -> ChainFields:
    at = START + timedelta(seconds=seq * 60)
    initiative_id = initiative_ids[seq % len(initiative_ids)]
    role = ("business", "data", "engineering")[seq % 3]
    if seq % 10 == 0:
        before, after, action = {role: random.choice(PEOPLE)}, {role: random.choice(PEOPLE)}, "owners.changed"
    else:
        before, action = {"state": "pending"}, "signoff.approved"
        after = {"state": "approved", "ticked": ["problem-stated", "kpi-baseline-target"],
                 "waivers": {"owner-committed": "The sponsor runs the pilot this quarter"},
                 "evidence_links": [f"https://wiki.example.com/ai/{seq}"]}
    return ChainFields(team_id=TEAM, seq=seq, at=at, actor=random.choice(PEOPLE), action=action,
                       subject_type="sign_off", subject_key=f"AI-{seq % 20 + 1}/idea-to-pilot/{role}",
                       initiative_id=initiative_id, definition_version=1, before=before, after=after)


def measure(url: str, *argv: str) -> dict:
    """Run `initiative-bot <argv>` in a fresh process; its wall time and peak RSS."""
    env = {**os.environ, "DATABASE_URL": url}
    output = subprocess.run([sys.executable, __file__, "--child", *argv], env=env, check=True,
                            capture_output=True, text=True)
    measured = json.loads(output.stdout.strip().splitlines()[-1])
    if measured["exit"] != 0:
        raise SystemExit(f"`initiative-bot {' '.join(argv)}` failed: {output.stderr.strip()}")
    return measured


def child(argv: list[str]) -> None:
    baseline = _peak_rss_mb()
    from bot.cli import main

    imported = _peak_rss_mb()
    started = time.perf_counter()
    cpu_before = _cpu_seconds()
    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        code = main(argv)
        sys.stdout = stdout
    elapsed = time.perf_counter() - started
    print(json.dumps({"exit": code, "seconds": round(elapsed, 2), "cpu_seconds": round(_cpu_seconds() - cpu_before, 2),
                      "peak_rss_mb": _peak_rss_mb(), "after_imports_mb": imported, "interpreter_mb": baseline}))


def _cpu_seconds() -> float:
    """This process's CPU time and that of its finished children (the processes `audit verify` starts)."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def _peak_rss_mb() -> float:
    """This process's peak resident memory since it started (Linux VmHWM). Not ru_maxrss: Linux carries that over
    from the process that started this one, so it reported the benchmark driver's peak, not the command's."""
    status = Path("/proc/self/status").read_text()
    kilobytes = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return round(kilobytes / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url")
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite file and export")
    parser.add_argument("--reuse", action="store_true", help="measure the already seeded --database-url again")
    parser.add_argument("--verify-only", action="store_true", help="measure `audit verify` alone")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    url = args.database_url or f"sqlite:///{workdir / 'audit.db'}"
    started = time.perf_counter()
    if args.reuse:
        upgrade(make_engine(url))
    else:
        seed(url, args.events)
    seeded = time.perf_counter() - started
    results = {
        "events": args.events,
        "backend": url.split(":", 1)[0],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
                   f"{platform.python_version()}, {platform.system()} {platform.release()}",
        "seed_seconds": round(seeded, 1),
        "load_average": os.getloadavg(),
        "verify": measure(url, "audit", "verify"),
    }
    if not args.verify_only:
        results["export_csv"] = measure(url, "audit", "export", "--format", "csv", str(workdir / "export.csv"))
        results["export_jsonl"] = measure(url, "audit", "export", "--format", "jsonl", str(workdir / "export.jsonl"))
        results["export_csv_bytes"] = (workdir / "export.csv").stat().st_size
    results["load_average_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    if not args.keep:
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        main()
