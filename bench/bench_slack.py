"""Benchmark: `/initiative list` and `/initiative show` under 50 concurrent signed requests, 10,000 initiatives.

    .venv/bin/python bench/bench_slack.py [--load sustained|bursts] [--rounds 3] [--backend sqlite|postgresql]
                                          [--initiatives 10000] [--requests 1000] [--concurrency 50]
                                          [--workers 1] [--threads 16]

Starts the Slack emulator in this process, the real `initiative-bot serve` (gunicorn, gthread) and, on the same
server stack, a bare Bolt app answering one static command (bench/bare_app.py). In each round it sends each command
`--requests` signed requests, `--concurrency` at a time (see `measure` for the two loads), and reports p50/p99
over all rounds of the time to acknowledge and of the time until the answer reaches the emulator when the answer
is deferred (sent to `response_url` after the ack), the server's CPU time per request, and each round's p99 ratio
to the bare app. Then the memory of `serve`, master plus workers. Results and the machine go to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    bare_app_command,
    cpu_seconds,
    machine,
    percentile,
    scratch_database,
    serve_command,
    serve_memory,
    server,
)
from bot.config import load_settings
from bot.process import freeze_startup_objects
from bot.runtime import Runtime
from bot.services.gates.workspaces import ensure_workspace
from slack_emulator import SlackEmulator
from slack_emulator.requests import signed_headers, slash_command_body
from storage.migrate import upgrade
from tests.services.digest.bulk import insert_portfolio
from tests.support.serving import bot_env
from tests.support.slack_app import SIGNING_SECRET

TEAM = "T0001"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--initiatives", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1000, help="per command and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--load", choices=("sustained", "bursts"), default="sustained")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()

    with scratch_database(args.backend, prefix="ib_bench_slack") as url, SlackEmulator(team_id=TEAM) as emulator:
        database_url = url
        first_number = seed(database_url, args.initiatives)
        # The emulator records when answers arrive; keep this process's full garbage collections (70-240 ms here,
        # after the seeding) from pausing it. The servers do the same (bot.process.freeze_startup_objects).
        freeze_startup_objects()
        env = bot_env(database_url, emulator)
        keys = [f"AI-{first_number + (i * 7919) % args.initiatives}" for i in range(args.requests)]
        commands = {
            "bare /bare": ("/bare", lambda i: ""),
            "/initiative list": ("/initiative", lambda i: "list"),
            "/initiative show": ("/initiative", lambda i: f"show {keys[i]}"),
        }
        size = {"workers": args.workers, "threads": args.threads}
        with server(bare_app_command(**size), env) as bare, server(serve_command(sys.executable, **size), env) as bot:
            target = {"bare /bare": (bare.url, bare.pid), "/initiative list": (bot.url, bot.pid),
                      "/initiative show": (bot.url, bot.pid)}
            for name, (command, text_for) in commands.items():
                measure(*target[name], emulator, command, text_for, args, warmup_only=True)
            # Rounds alternate between the apps, so that a change in the machine's load strikes them alike.
            results = {name: Samples() for name in commands}
            for _ in range(args.rounds):
                for name, (command, text_for) in commands.items():
                    results[name].add(measure(*target[name], emulator, command, text_for, args))
            memory = serve_memory(bot.pid)
    report(args, results, memory)
    return 0


# ---- setup ---------------------------------------------------------------------------------------------


def seed(database_url: str, count: int) -> int:
    """Migrate, create the workspace and `count` initiatives; returns the first initiative number."""
    runtime = Runtime.from_settings(load_settings(_env_file=None, database_url=database_url))
    upgrade(runtime.engine)
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=TEAM, name="Bench Corp")
        insert_portfolio(session, team_id=TEAM, count=count, as_of=datetime.now(UTC))
    # The planner's statistics, as autovacuum would have them on a database in use: right after a bulk load
    # PostgreSQL has none, and sorts all 10,000 rows for `list` instead of reading the key index in order.
    with runtime.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM ANALYZE" if runtime.engine.dialect.name == "postgresql" else "ANALYZE"
        )
    runtime.engine.dispose()
    return 1_000_000  # bulk.insert_portfolio numbers initiatives from here


# ---- measuring -----------------------------------------------------------------------------------------


@dataclass
class Samples:
    """One command's measurements: acknowledgement and answer times (seconds), errors, and the server's CPU."""

    acks: list[float] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)
    errors: int = 0
    requests: int = 0
    cpu: float = 0.0  # seconds the server's processes used, acknowledging and answering
    round_ack_p99: list[float] = field(default_factory=list)

    def add(self, other: Samples) -> None:
        self.acks += other.acks
        self.answers += other.answers
        self.errors += other.errors
        self.requests += other.requests
        self.cpu += other.cpu
        self.round_ack_p99.append(percentile(other.acks, 99))


def measure(url, server_pid, emulator, command, text_for, args, warmup_only=False) -> Samples:  # type: ignore[no-untyped-def]
    """Send signed commands, `concurrency` at a time; the time to each ack and to each deferred answer.

    `--load sustained`: each of `concurrency` clients sends its next request as soon as its previous one is
    acknowledged. `--load bursts`: `concurrency` requests leave together, and the next burst leaves once every
    answer of this one has arrived.

    The requests go from a separate process, so the load generator's threads do not compete with the emulator
    (which records when each answer arrives) for one GIL; both read the same monotonic clock. Also the CPU time
    the server used, until the last answer."""
    total = args.concurrency * 2 if warmup_only else args.requests
    response_urls = [emulator.new_response_url() for _ in range(total)]
    texts = [text_for(i) for i in range(total)]
    batch = args.concurrency if args.load == "bursts" else total
    samples = Samples(requests=total)
    cpu_before = cpu_seconds(server_pid)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as load:
        for first in range(0, total, batch):
            part = slice(first, first + batch)
            sent = load.submit(send_load, url, command, texts[part], response_urls[part], args.concurrency).result()
            samples.acks += [ack for _, ack, _, _ in sent]
            samples.errors += sum(1 for _, _, status, _ in sent if status != 200)
            wait_for_answers(emulator, sent, response_urls[part], samples)
    samples.cpu = cpu_seconds(server_pid) - cpu_before
    return samples


def wait_for_answers(emulator, sent, response_urls, samples: Samples) -> None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + 60
    for (started, _, status, deferred), response_url in zip(sent, response_urls, strict=True):
        if status != 200 or not deferred:
            continue
        while not (arrived := emulator.response_arrivals(response_url)) and time.perf_counter() < deadline:
            time.sleep(0.005)
        if arrived:
            samples.answers.append(arrived[0] - started)
        else:
            samples.errors += 1


def send_load(url: str, command: str, texts: list[str], response_urls: list[str], concurrency: int
              ) -> list[tuple[float, float, int, bool]]:
    """In the load process: (started, seconds to ack, HTTP status, answer deferred?) for each request. The first
    `concurrency` requests leave together."""
    gc.disable()  # a full collection here (55-85 ms) would stop the clocks of all 50 clients at once
    start_together = threading.Barrier(min(concurrency, len(texts)))
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:

        def one(i: int) -> tuple[float, float, int, bool]:
            body = slash_command_body(command, texts[i], response_url=response_urls[i])
            headers = signed_headers(body, SIGNING_SECRET)
            if i < concurrency:
                start_together.wait()
            started = time.perf_counter()
            response = client.post(url + "/slack/events", content=body.encode(), headers=headers)
            return started, time.perf_counter() - started, response.status_code, not response.content

        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(one, range(len(texts))))


# ---- report --------------------------------------------------------------------------------------------


def report(args: argparse.Namespace, results: dict[str, Samples], memory: dict[str, float]) -> None:
    def ms(seconds: list[float], p: int) -> str:
        return f"{percentile(seconds, p):,.1f} ms" if seconds else "(in the ack)"

    lines = [
        f"Machine: {machine()}. Backend: {args.backend}. {args.initiatives:,} initiatives. {args.rounds} rounds of "
        f"{args.requests} requests per command, {args.concurrency} concurrent ({args.load}). "
        f"serve --workers {args.workers} --threads {args.threads}.",
        "",
        "| command | ack p50 | ack p99 | answer at emulator p50 | answer p99 | errors | server CPU per request |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {ms(r.acks, 50)} | {ms(r.acks, 99)} | {ms(r.answers, 50)} | {ms(r.answers, 99)} "
            f"| {r.errors}/{r.requests} | {r.cpu / r.requests * 1000:.2f} ms |"
        )
    bare = results["bare /bare"]
    lines.append("")
    for name in ("/initiative list", "/initiative show"):
        rounds = [mine / base for mine, base in zip(results[name].round_ack_p99, bare.round_ack_p99, strict=True)]
        lines.append(
            f"{name}: ack p99 / bare ack p99 = {percentile(results[name].acks, 99) / percentile(bare.acks, 99):.2f} "
            f"over all rounds; by round {', '.join(f'{ratio:.2f}' for ratio in rounds)}"
        )
    lines.append(
        f"\nMemory of serve (master and {args.workers} worker(s)) after the run: "
        f"{memory['resident']:.0f} MB resident (each page once), RSS summed over the processes "
        f"{memory['rss']:.0f} MB, PSS {memory['pss']:.0f} MB"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
