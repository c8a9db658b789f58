"""Benchmark: `/initiative list` and `/initiative show` under 50 concurrent signed requests, 10,000 initiatives.

    .venv/bin/python bench/bench_slack.py [--backend sqlite|postgresql] [--initiatives 10000] [--requests 1000]
                                          [--concurrency 50] [--workers 1] [--threads 16]

Starts the Slack emulator in this process, the real `initiative-bot serve` (gunicorn, gthread) and, on the same
server stack, a bare Bolt app answering one static command (bench/bare_app.py). For each command it sends
`--requests` signed requests, `--concurrency` at a time, and reports p50/p99 of the time to acknowledge and of the
time until the answer reaches the emulator when the answer is deferred (sent to `response_url` after the ack).
Then the memory of `serve`, master plus workers: RSS summed, and PSS. Results and the machine go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings
from bot.runtime import Runtime
from bot.services.workspaces import ensure_workspace
from storage.migrate import upgrade
from tests.digest.bulk import insert_portfolio
from tests.platform.serving import REPO, bot_env, free_port
from tests.slack_emulator import SlackEmulator
from tests.support.slack_app import SIGNING_SECRET
from tests.support.slack_requests import signed_headers, slash_command_body

TEAM = "T0001"
PG_SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--initiatives", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()

    with scratch_database(args.backend) as database_url, SlackEmulator(team_id=TEAM) as emulator:
        first_number = seed(database_url, args.initiatives)
        env = bot_env(database_url, emulator)
        results: dict[str, dict[str, float | str]] = {}
        with server([sys.executable, str(REPO / "bench" / "bare_app.py")], env, args, bare=True) as (url, _):
            measure(url, emulator, "/bare", lambda i: "", args, warmup_only=True)
            results["bare /bare"] = measure(url, emulator, "/bare", lambda i: "", args)
        with server([sys.executable, "-m", "bot", "serve", "--no-scheduler"], env, args) as (url, process):
            measure(url, emulator, "/initiative", lambda i: "list", args, warmup_only=True)
            results["/initiative list"] = measure(url, emulator, "/initiative", lambda i: "list", args)
            keys = [f"AI-{first_number + (i * 7919) % args.initiatives}" for i in range(args.requests)]
            results["/initiative show"] = measure(url, emulator, "/initiative", lambda i: f"show {keys[i]}", args)
            memory = serve_memory(process.pid)
    report(args, results, memory)
    return 0


# ---- setup ---------------------------------------------------------------------------------------------


@contextmanager
def scratch_database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{directory}/bench.db"
        return
    name = f"ib_bench_slack_{uuid.uuid4().hex[:8]}"
    admin = make_url(PG_SERVER_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(database_url: str, count: int) -> int:
    """Migrate, create the workspace and `count` initiatives; returns the first initiative number."""
    runtime = Runtime.from_settings(load_settings(_env_file=None, database_url=database_url))
    upgrade(runtime.engine)
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=TEAM, name="Bench Corp")
        insert_portfolio(session, team_id=TEAM, count=count, as_of=datetime.now(UTC))
    runtime.engine.dispose()
    return 1_000_000  # bulk.insert_portfolio numbers initiatives from here


@contextmanager
def server(command: list[str], env: dict[str, str], args: argparse.Namespace, bare: bool = False):  # type: ignore[no-untyped-def]
    port = free_port()
    if bare:
        command = [*command, str(port), str(args.workers), str(args.threads)]
    else:
        command = [
            *command,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
        ]
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(url, process, log.name)
        yield url, process
    finally:
        process.terminate()
        process.wait(60)


def wait_until_listening(url: str, process: subprocess.Popen, log: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited:\n{Path(log).read_text()}")
        try:
            httpx.get(url + "/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"server did not start:\n{Path(log).read_text()}")


# ---- measuring -----------------------------------------------------------------------------------------


def measure(url, emulator, command, text_for, args, warmup_only=False):  # type: ignore[no-untyped-def]
    """Send signed commands `concurrency` at a time; p50/p99 of ack time and of the deferred answer.

    The requests go from a separate process, so the load generator's threads do not compete with the emulator
    (which records when each answer arrives) for one GIL; both read the same monotonic clock."""
    total = args.concurrency * 2 if warmup_only else args.requests
    response_urls = [emulator.new_response_url() for _ in range(total)]
    texts = [text_for(i) for i in range(total)]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as load:
        sent = load.submit(send_load, url, command, texts, response_urls, args.concurrency).result()
    acks = [ack for _, ack, _, _ in sent]
    errors = sum(1 for _, _, status, _ in sent if status != 200)
    answers: list[float] = []
    deadline = time.perf_counter() + 30
    for (started, _, status, deferred), response_url in zip(sent, response_urls, strict=True):
        if status != 200 or not deferred:
            continue
        while not (arrived := emulator.response_arrivals(response_url)) and time.perf_counter() < deadline:
            time.sleep(0.01)
        if arrived:
            answers.append(arrived[0] - started)
        else:
            errors += 1
    if warmup_only:
        return {}
    return {
        "ack_p50": percentile(acks, 50),
        "ack_p99": percentile(acks, 99),
        "answer_p50": percentile(answers, 50) if answers else "in the ack",
        "answer_p99": percentile(answers, 99) if answers else "in the ack",
        "errors": errors,
        "requests": total,
    }


def send_load(url: str, command: str, texts: list[str], response_urls: list[str], concurrency: int
              ) -> list[tuple[float, float, int, bool]]:
    """In the load process: (started, seconds to ack, HTTP status, answer deferred?) for each request."""
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:

        def one(i: int) -> tuple[float, float, int, bool]:
            body = slash_command_body(command, texts[i], response_url=response_urls[i])
            started = time.perf_counter()
            response = client.post(
                url + "/slack/events", content=body.encode(), headers=signed_headers(body, SIGNING_SECRET)
            )
            return started, time.perf_counter() - started, response.status_code, not response.content

        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(one, range(len(texts))))


def percentile(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1] * 1000 if len(samples) > 1 else samples[0]


def serve_memory(master_pid: int) -> dict[str, float]:
    """Memory of `serve` (master + workers), in MB: RSS summed over the processes (pages the workers share with
    the master after the fork count once per process), and PSS (each shared page split between its sharers)."""
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master_pid)], capture_output=True, text=True)
    memory = {"rss": 0.0, "pss": 0.0}
    for pid in [master_pid, *(int(p) for p in children.stdout.split())]:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            field, _, value = line.partition(":")
            if field in ("Rss", "Pss"):
                memory[field.lower()] += int(value.split()[0]) / 1024
    return memory


# ---- report --------------------------------------------------------------------------------------------


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    ram_kb = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    return f"{os.cpu_count()} CPUs ({cpu}), {ram_kb / 1024 / 1024:.1f} GiB RAM, Python {platform.python_version()}"


def report(args: argparse.Namespace, results: dict, memory: dict[str, float]) -> None:
    def ms(value: float | str) -> str:
        return value if isinstance(value, str) else f"{value:.1f} ms"

    lines = [
        f"Machine: {machine()}. Backend: {args.backend}. {args.initiatives:,} initiatives; {args.requests} requests "
        f"per command, {args.concurrency} concurrent; serve --workers {args.workers} --threads {args.threads}.",
        "",
        "| command | ack p50 | ack p99 | answer at emulator p50 | p99 | errors |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {ms(r['ack_p50'])} | {ms(r['ack_p99'])} | {ms(r['answer_p50'])} | "
            f"{ms(r['answer_p99'])} | {r['errors']}/{r['requests']} |"
        )
    bare = results["bare /bare"]["ack_p99"]
    for name in ("/initiative list", "/initiative show"):
        lines.append(f"\n{name}: p99 / bare p99 = {results[name]['ack_p99'] / bare:.2f}")
    lines.append(f"\nMemory of serve (master + {args.workers} workers) after the run: RSS {memory['rss']:.0f} MB "
                 f"summed over the processes, PSS {memory['pss']:.0f} MB")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
