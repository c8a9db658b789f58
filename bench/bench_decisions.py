"""Benchmark: the acknowledgement of an Approve click and of a checklist submission, against a bare Bolt app.

    .venv/bin/python bench/bench_decisions.py [--backend sqlite|postgresql] [--code CHECKOUT]
                                              [--initiatives 2000] [--reviews 200] [--rounds 4]
                                              [--singles 25] [--bursts 3] [--burst-size 20]
                                              [--workers 1] [--threads 16] [--profile FILE]

The code under test is `--code` (default: this checkout), run with its own virtualenv, so the same script measures
another commit checked out in a worktree (e.g. `git worktree add /work/wt-before 3f10819`). The driver (this
process: the Slack emulator, the load, the report) runs from this checkout; the bare app (bench/bare_app.py) runs
on the server stack of the code under test (its `gunicorn_options`), which is what the bot runs on.

1. Seeds a scratch database with the code under test (bench/seed_portfolio.py: its migrations, then
   `--initiatives` initiatives with their histories in bulk), starts `initiative-bot serve
   --no-scheduler` from that checkout and the bare app (bench/bare_app.py) beside it.
2. Through Slack's HTTP surface, opens the reviews of `--reviews` of them, which the seed gave three owners each
   (`/initiative submit`): every sign-off request is a DM the bot really posted, three per review, to 20 people
   per role. A click on each DM that will be decided fetches its checklist modal (this
   also warms both servers up).
3. Rounds. In each: `--singles` Approve clicks one at a time to the bare app, then as many to the bot; as many
   checklist submissions one at a time to each; then `--bursts` bursts of `--burst-size` submissions for as many
   different sign-offs of different people, all leaving together, to each. After each request to the bot the next
   one waits until the bot is idle again (the click's modal opened, the outbox delivered), so a "single" decision
   does not compete with the previous one's follow-up work.
4. Checks the database: every submitted sign-off is approved when its submission is acknowledged (the decision
   commits before the answer), and has exactly one `signoff.approved` audit event.

Reports p50/p99 of the time to acknowledge per kind, the ratio of each p99 to the bare app's (over all rounds and
per round), failures (non-200, an answer other than closing the modal, "database is locked" or a traceback in the
server's log), the server's CPU time per request, and the memory of `serve`. Targets (issue 14): p99 at most 1.5x
the bare app's for a single click and a single submission, at most 2x for a burst.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import pyspy
from bench.common import (
    Server,
    bare_app_command,
    cpu_seconds,
    machine,
    percentile,
    scratch_database,
    serve_command,
    serve_memory,
    server,
)
from bot.process import freeze_startup_objects
from bot.views import ids
from slack_emulator import SlackEmulator
from slack_emulator.requests import (
    block_actions_payload,
    interaction_body,
    signed_headers,
    slash_command_body,
    ticked_all,
    view_submission_payload,
)
from tests.support.serving import REPO, bot_env
from tests.support.slack_app import SIGNING_SECRET

TEAM = "T0001"
DIGEST_CHANNEL = "C0DIGEST"
ROLES = ("business", "data", "engineering")
PEOPLE_PER_ROLE = 20
KINDS = ("click", "submission", "burst")
TARGETS = {"click": 1.5, "submission": 1.5, "burst": 2.0}
# The frame under which a kind's samples are summarised: a click is acknowledged before its listener runs, so its
# summary is of the request threads (Bolt's WSGI adapter), a submission's of its listener.
PROFILED_FRAME = {"click": "(slack_bolt/adapter/wsgi/handler.py)", "submission": "on_checklist (",
                  "burst": "on_checklist ("}
FAILURE_IN_LOG = re.compile(r"database is locked|Traceback|ERROR", re.IGNORECASE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--code", type=Path, default=REPO, help="the checkout to measure (default: this one)")
    parser.add_argument("--python", help="its interpreter (default: CODE/.venv/bin/python)")
    parser.add_argument("--initiatives", type=int, default=2000)
    parser.add_argument("--reviews", type=int, default=200, help="open reviews, three sign-offs each")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--singles", type=int, default=25, help="clicks, and submissions, per app and round")
    parser.add_argument("--bursts", type=int, default=3, help="bursts per app and round")
    parser.add_argument("--burst-size", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--profile", type=Path, help="record py-spy samples of serve while it gets each kind of "
                        "request, into this directory, and summarise them (make it a run of its own: sampling takes "
                        "CPU from the same cores)")
    args = parser.parse_args()
    args.code = args.code.resolve()
    args.python = args.python or str(args.code / ".venv" / "bin" / "python")
    decisions = args.rounds * (args.singles + args.bursts * args.burst_size)
    if decisions > args.reviews * len(ROLES):
        parser.error(f"{decisions} decisions need more than {args.reviews} reviews of {len(ROLES)} sign-offs")

    with scratch_database(args.backend, prefix="ib_bench_decisions") as database_url, \
            SlackEmulator(team_id=TEAM) as emulator:
        for role in ROLES:
            for user in people(role):
                emulator.add_user(user, user.lower())
        emulator.add_channel(DIGEST_CHANNEL, "ai-portfolio")
        seed_started = time.monotonic()
        env = bot_env(database_url, emulator, DIGEST_CHANNEL=DIGEST_CHANNEL) | {"PYTHONPATH": str(args.code)}
        owners = {role: people(role) for role in ROLES}
        spec = {"team": TEAM, "initiatives": args.initiatives, "owned": args.reviews, "owners": owners}
        keys = json.loads(subprocess_run([args.python, str(REPO / "bench" / "seed_portfolio.py"), database_url,
                                          json.dumps(spec)], env=env, cwd=args.code))
        engine = create_engine(database_url)
        size = {"workers": args.workers, "threads": args.threads}
        with server(bare_app_command(args.python, **size), env, cwd=args.code) as bare, \
                server(serve_command(args.python, **size), env, cwd=args.code) as bot:
            # One request at a time: commands that write at once can wait on each other past the 2 s lock wait
            # on a loaded machine, or meet "database is locked" on SQLite (issue 14); the setup must not fail.
            concurrency = 1
            progress(f"seeded {args.initiatives} initiatives, servers up")
            requests = open_reviews(bot, emulator, engine, keys, owners["business"], concurrency)
            progress(f"{args.reviews} reviews opened through Slack")
            plan = Plan.make(requests, args)
            fetch_modals(bot, emulator, plan.to_submit(), concurrency)
            log_from = bot.log.stat().st_size
            progress(f"{len(plan.to_submit())} checklist modals fetched; measuring")
            seed_seconds = time.monotonic() - seed_started
            # The emulator records when calls arrive; keep this process's full collections from pausing it.
            freeze_startup_objects()
            results = {(app, kind): Samples() for app in ("bare", "bot") for kind in KINDS}
            loads = [load_average()]
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as load:
                run = Runner(load, bare, bot, emulator, engine, args.profile)
                for round_number in range(args.rounds):
                    for kind in KINDS:
                        for app in ("bare", "bot"):
                            results[app, kind].add(run.kind(app, kind, plan.round(round_number, kind)))
                    loads.append(load_average())
                    progress(f"round {round_number + 1} of {args.rounds} done, load average {loads[-1]}")
            memory = serve_memory(bot.pid)
            measured_log = bot.log.read_bytes()[log_from:].decode(errors="replace")
            log_failures = [line for line in measured_log.splitlines() if FAILURE_IN_LOG.search(line)]
        landed = check_decisions(engine, requests, plan.to_submit())
        engine.dispose()
    report(args, results, memory, log_failures, landed, seed_seconds, loads)
    for kind in KINDS if args.profile else ():
        print(f"\nProfile of the bot's {kind}s:")
        print("\n".join(pyspy.summary(sorted(args.profile.glob(f"{kind}-*.raw")), PROFILED_FRAME[kind])))
    return 0


def progress(message: str, started: float = time.monotonic()) -> None:
    print(f"[{time.monotonic() - started:5.0f} s] {message}", file=sys.stderr, flush=True)


def people(role: str) -> list[str]:
    return [f"U{role[:4].upper()}{n}" for n in range(PEOPLE_PER_ROLE)]


def subprocess_run(command: list[str], *, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


# ---- the reviews, opened through Slack ---------------------------------------------------------------------


@dataclass
class SignOffRequest:
    """One sign-off request DM, as it reached the emulator, and the checklist modal a click on it opened."""

    user: str
    value: str  # the Approve button's value
    message: dict[str, Any]
    modal: dict[str, Any] | None = None

    def click(self, emulator: SlackEmulator) -> tuple[str, str]:
        """A signed-ready body of an Approve click on this DM, and the trigger_id the bot will open its modal with."""
        trigger_id = emulator.new_trigger_id()
        payload = block_actions_payload(ids.APPROVE, self.value, user_id=self.user, message=self.message,
                                        channel_id=self.message["channel"], trigger_id=trigger_id,
                                        response_url=emulator.new_response_url())
        return interaction_body(payload), trigger_id

    def submission(self) -> str:
        assert self.modal is not None
        payload = view_submission_payload(self.modal["callback_id"], ticked_all(self.modal),
                                          self.modal.get("private_metadata", ""), self.user, view=self.modal)
        return interaction_body(payload)



def open_reviews(bot: Server, emulator: SlackEmulator, engine: Engine, keys: list[str], submitters: list[str],
                 concurrency: int) -> list[SignOffRequest]:
    """`/initiative submit KEY` for each initiative, by its business owner; the sign-off request DMs it caused."""

    def ask(text_: str, user_id: str) -> str:
        response_url = emulator.new_response_url()
        body = slash_command_body("/initiative", text_, user_id=user_id, response_url=response_url)
        response = httpx.post(bot.url + "/slack/events", content=body.encode(),
                              headers=signed_headers(body, SIGNING_SECRET), timeout=30)
        if response.status_code != 200:
            raise SystemExit(f"/initiative {text_}: HTTP {response.status_code} {response.text}")
        if response.content:
            return str(response.json().get("text", ""))
        return str(emulator.wait_for_responses(response_url, timeout=30)[0].get("text", ""))

    def one(index: int) -> None:
        answer = ask(f"submit {keys[index]}", submitters[index % len(submitters)])
        if "opened" not in answer:
            raise SystemExit(f"/initiative submit {keys[index]} answered: {answer}")

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(len(keys))))
    wait_until_idle(engine)
    requests = []
    for user in {person for role in ROLES for person in people(role)}:
        channel = emulator.dm_channel(user)
        for message in emulator.messages(channel) if channel else []:
            if message["blocks"][0]["text"]["text"].startswith("Sign-off requested"):
                requests.append(SignOffRequest(user, approve_value(message), message | {"channel": channel}))
    if len(requests) != len(keys) * len(ROLES):
        raise SystemExit(f"expected {len(keys) * len(ROLES)} sign-off request DMs, found {len(requests)}")
    return sorted(requests, key=sign_off_id_of)


def approve_value(message: dict[str, Any]) -> str:
    return next(element["value"] for block in message["blocks"] if block["type"] == "actions"
                for element in block["elements"] if element["action_id"] == ids.APPROVE)


def fetch_modals(bot: Server, emulator: SlackEmulator, requests: list[SignOffRequest], concurrency: int) -> None:
    """Click each request that will be decided, and keep the checklist modal the bot opened for it."""

    def one(request: SignOffRequest) -> None:
        body, trigger_id = request.click(emulator)
        response = httpx.post(bot.url + "/slack/events", content=body.encode(),
                              headers=signed_headers(body, SIGNING_SECRET), timeout=30)
        if response.status_code != 200:
            raise SystemExit(f"Approve click: HTTP {response.status_code} {response.text}")
        request.modal = modal_opened(emulator, trigger_id)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, requests))


def modal_opened(emulator: SlackEmulator, trigger_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in reversed(emulator.calls_to("views.open")):
            if call.params.get("trigger_id") == trigger_id and call.status:
                if not call.ok:
                    raise SystemExit(f"views.open failed: {call.response}")
                return dict(call.response["view"])
        time.sleep(0.005)
    raise SystemExit(f"no modal opened for trigger {trigger_id} within {timeout} s")


def wait_until_idle(engine: Engine, timeout: float = 120) -> None:
    """Until the outbox holds nothing to deliver (the bot's sender wakes as soon as a request enqueues)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if not connection.execute(text("SELECT count(*) FROM outbox_message WHERE state = 'pending'")).scalar():
                return
        time.sleep(0.005)
    raise SystemExit(f"the outbox still had pending messages after {timeout} s")


# ---- the plan: which sign-off each request decides ---------------------------------------------------------


@dataclass
class Plan:
    """Per round and kind, the sign-off requests to send, one batch (a request, or a burst) at a time.
    Submissions never repeat a sign-off, and a burst's sign-offs belong to different people. A round's clicks
    are on the sign-offs its single submissions decide afterwards: still pending when clicked, as in Slack."""

    rounds: list[dict[str, list[list[SignOffRequest]]]]

    @classmethod
    def make(cls, requests: list[SignOffRequest], args: argparse.Namespace) -> Plan:
        pool = list(requests)
        random.Random(14).shuffle(pool)  # the same order for every code under test
        rounds = []
        for _ in range(args.rounds):
            singles = [[pool.pop()] for _ in range(args.singles)]
            bursts = [take_distinct_people(pool, args.burst_size) for _ in range(args.bursts)]
            rounds.append({"click": singles, "submission": singles, "burst": bursts})
        return cls(rounds)

    def round(self, number: int, kind: str) -> list[list[SignOffRequest]]:
        return self.rounds[number][kind]

    def to_submit(self) -> list[SignOffRequest]:
        return [request for chosen in self.rounds for kind in ("submission", "burst")
                for batch in chosen[kind] for request in batch]


def take_distinct_people(pool: list[SignOffRequest], size: int) -> list[SignOffRequest]:
    taken: list[SignOffRequest] = []
    for request in reversed(list(pool)):
        if len(taken) == size:
            break
        if request.user not in {other.user for other in taken}:
            taken.append(request)
            pool.remove(request)
    if len(taken) < size:
        raise SystemExit(f"not enough different people left for a burst of {size}")
    return taken


# ---- measuring ---------------------------------------------------------------------------------------------


@dataclass
class Samples:
    """One app's measurements of one kind: the acknowledgement times (seconds), what failed, and its CPU."""

    acks: list[float] = field(default_factory=list)
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    uncommitted: int = 0  # submissions acknowledged before their decision was in the database
    cpu: float = 0.0
    round_p99: list[float] = field(default_factory=list)

    def add(self, other: Samples) -> None:
        self.acks += other.acks
        self.requests += other.requests
        self.failures += other.failures
        self.uncommitted += other.uncommitted
        self.cpu += other.cpu
        self.round_p99.append(percentile(other.acks, 99))


class Runner:
    def __init__(self, load: Executor, bare: Server, bot: Server, emulator: SlackEmulator, engine: Engine,
                 profile: Path | None) -> None:
        self.load, self.servers, self.emulator, self.engine = load, {"bare": bare, "bot": bot}, emulator, engine
        self.profile, self.profiled = profile, Counter[str]()

    def kind(self, app: str, kind: str, batches: list[list[SignOffRequest]]) -> Samples:
        """Send each batch (one request, or a burst) and wait until the bot is idle before the next."""
        if self.profile is None or app != "bot":
            return self._send(app, kind, batches)
        self.profile.mkdir(parents=True, exist_ok=True)
        self.profiled[kind] += 1
        with pyspy.recording(self.servers[app].pid, self.profile / f"{kind}-{self.profiled[kind]}.raw"):
            return self._send(app, kind, batches)

    def _send(self, app: str, kind: str, batches: list[list[SignOffRequest]]) -> Samples:
        samples = Samples()
        target = self.servers[app]
        cpu_before = cpu_seconds(target.pid)
        for batch in batches:
            triggers: list[str] = []
            if kind == "click":
                bodies = []
                for request in batch:
                    body, trigger_id = request.click(self.emulator)
                    bodies.append(body)
                    triggers.append(trigger_id)
            else:
                bodies = [request.submission() for request in batch]
            sent = self.load.submit(send_together, target.url, bodies).result()
            samples.requests += len(sent)
            for seconds, status, answer in sent:
                samples.acks.append(seconds)
                if status != 200:
                    samples.failures.append(f"HTTP {status}: {answer[:200]}")
                elif kind != "click" and answer and app == "bot":
                    samples.failures.append(f"answered {answer[:200]}")
            if app == "bot" and kind != "click":  # a decision acknowledged as done must be in the database
                samples.uncommitted += sum(1 for request, (_, status, answer) in zip(batch, sent, strict=True)
                                           if status == 200 and not answer and not self.approved(request))
            if app == "bot":
                for trigger_id in triggers:
                    modal_opened(self.emulator, trigger_id)
                wait_until_idle(self.engine)
        samples.cpu = cpu_seconds(target.pid) - cpu_before
        return samples

    def approved(self, request: SignOffRequest) -> bool:
        sign_off_id = sign_off_id_of(request)
        with self.engine.connect() as connection:
            state = connection.execute(text("SELECT state FROM sign_off WHERE id = :id"), {"id": sign_off_id}).scalar()
        return state == "approved"


def sign_off_id_of(request: SignOffRequest) -> int:
    return ids.decode_sign_off_value(request.value)


def send_together(url: str, bodies: list[str]) -> list[tuple[float, int, str]]:
    """In the load process: post the signed bodies all at once; (seconds to the response, status, its body)."""
    gc.disable()  # a full collection here would stop every client's clock at once
    start_together = threading.Barrier(len(bodies))
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=len(bodies))) as client:

        def one(body: str) -> tuple[float, int, str]:
            headers = signed_headers(body, SIGNING_SECRET)
            start_together.wait()
            started = time.perf_counter()
            response = client.post(url + "/slack/events", content=body.encode(), headers=headers)
            return time.perf_counter() - started, response.status_code, response.text

        with ThreadPoolExecutor(len(bodies)) as pool:
            return list(pool.map(one, bodies))


# ---- the decisions in the database -------------------------------------------------------------------------


def check_decisions(engine: Engine, requested: list[SignOffRequest], submitted: list[SignOffRequest]
                    ) -> dict[str, int]:
    """Of the sign-offs requested through Slack: how many of those submitted are approved, how many others are,
    and how many `signoff.approved` audit events there are, for how many sign-offs more than one."""
    wanted = {sign_off_id_of(request) for request in submitted}
    ours = {sign_off_id_of(request) for request in requested}
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, state FROM sign_off"))
        states = {sign_off_id: state for sign_off_id, state in rows if sign_off_id in ours}
        events = Counter(key for (key,) in connection.execute(text(
            "SELECT subject_key FROM audit_event WHERE action = 'signoff.approved' AND subject_type = 'sign_off'")))
    return {
        "submitted": len(wanted),
        "approved": sum(1 for sign_off_id in wanted if states.get(sign_off_id) == "approved"),
        "approved, not submitted": sum(1 for sign_off_id, state in states.items()
                                       if state == "approved" and sign_off_id not in wanted),
        "audit events": sum(events.values()),
        "sign-offs with more than one event": sum(1 for count in events.values() if count > 1),
    }


# ---- report ------------------------------------------------------------------------------------------------


def load_average() -> float:
    """The 1-minute load average."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def report(args: argparse.Namespace, results: dict[tuple[str, str], Samples], memory: dict[str, float],
           log_failures: list[str], landed: dict[str, int], seed_seconds: float, loads: list[float]) -> None:
    lines = [
        f"Machine: {machine()}; 1-minute load average before and after each round "
        f"{', '.join(f'{load:.2f}' for load in loads)}. Code: {args.code} "
        f"({git_describe(args.code)}). Backend: {args.backend}. {args.initiatives:,} initiatives, {args.reviews} open "
        f"reviews ({args.reviews * len(ROLES)} pending sign-offs, {PEOPLE_PER_ROLE} people per role). "
        f"{args.rounds} rounds of {args.singles} clicks and {args.singles} submissions one at a time and "
        f"{args.bursts} bursts of {args.burst_size}, per app. serve --workers {args.workers} "
        f"--threads {args.threads}. Seeding took {seed_seconds:.0f} s.",
        "",
        "| kind | bare p50 | bare p99 | bot p50 | bot p99 | p99 ratio (target) | by round | failures | "
        "bot CPU per request, with its follow-up |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind in KINDS:
        base, mine = results["bare", kind], results["bot", kind]
        ratio = percentile(mine.acks, 99) / percentile(base.acks, 99)
        rounds = ", ".join(f"{m / b:.2f}" for m, b in zip(mine.round_p99, base.round_p99, strict=True))
        lines.append(
            f"| {kind} | {percentile(base.acks, 50):.1f} ms | {percentile(base.acks, 99):.1f} ms "
            f"| {percentile(mine.acks, 50):.1f} ms | {percentile(mine.acks, 99):.1f} ms "
            f"| {ratio:.2f} (<= {TARGETS[kind]}) | {rounds} | {len(mine.failures) + len(base.failures)}/"
            f"{mine.requests + base.requests} | {mine.cpu / mine.requests * 1000:.1f} ms |"
        )
    uncommitted = sum(results["bot", kind].uncommitted for kind in KINDS)
    lines += [
        "",
        f"Decisions in the database: {json.dumps(landed)}; acknowledged before committed: {uncommitted}.",
        f"Server log lines with an error: {len(log_failures)}"
        + "".join(f"\n    {line[:200]}" for line in log_failures[:10]),
        f"Memory of serve: {memory['resident']:.0f} MB resident, {memory['rss']:.0f} MB RSS summed, "
        f"{memory['pss']:.0f} MB PSS.",
    ]
    for kind in KINDS:
        for failure in (results["bot", kind].failures + results["bare", kind].failures)[:5]:
            lines.append(f"{kind} failure: {failure}")
    print("\n".join(lines))


def git_describe(checkout: Path) -> str:
    done = subprocess.run(["git", "-C", str(checkout), "log", "-1", "--format=%h %s"], capture_output=True,
                          text=True, check=False)
    return done.stdout.strip()[:80]


if __name__ == "__main__":
    sys.exit(main())
