"""The real `initiative-bot serve` (gunicorn, threaded workers) in its own process."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.delivery.outbox import enqueue
from bot.runtime import Runtime
from bot.services.gates.workspaces import ensure_workspace
from bot.views import ids
from bot.views.replies import SOMETHING_WENT_WRONG
from slack_emulator import SlackEmulator
from slack_emulator.requests import (
    BAD_SIGNATURE,
    block_actions_payload,
    event_body,
    interaction_body,
    post_signed,
    slash_command_body,
    view_submission_payload,
)
from storage.models import Initiative, OutboxMessage, SlackEventReceipt
from tests.support.serving import CLI, bot_env, free_port, run_cli, serving
from tests.support.slack_app import SIGNING_SECRET

HOME_OPENED = {"type": "app_home_opened", "user": "U0001", "channel": "D0001", "tab": "home"}


def test_serve_answers_signed_requests_and_refuses_forged_ones(
    runtime: Runtime, database_url: str, slack_emulator: SlackEmulator, tmp_path: Path
) -> None:
    with serving(bot_env(database_url, slack_emulator), tmp_path, "--workers", "2") as bot:
        health = httpx.get(bot.url + "/healthz")
        signed = post_signed(bot.url + "/slack/events", event_body(HOME_OPENED, event_id="Ev1"), SIGNING_SECRET)
        forged = post_signed(
            bot.url + "/slack/events", event_body(HOME_OPENED, event_id="Ev2"), SIGNING_SECRET, signature=BAD_SIGNATURE
        )

        assert "Using worker: bot.edge_worker.BufferingWorker" in bot.log
    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert (signed.status_code, forged.status_code) == (200, 401)
    with runtime.transaction() as session:
        assert session.exec(select(SlackEventReceipt.event_id)).all() == ["Ev1"]


def test_serve_workers_keep_their_startup_objects_out_of_garbage_collection(
    database_url: str, slack_emulator: SlackEmulator, tmp_path: Path
) -> None:
    """Otherwise each full collection walks them all while holding the GIL, and stops every request in the worker
    for 60-100 ms (docs/benchmarks.md)."""
    with serving(bot_env(database_url, slack_emulator), tmp_path, "--workers", "2") as bot:
        health = httpx.get(bot.url + "/healthz")
        _wait_until(lambda: bot.log.count("worker ready") == 2)
        log = bot.log

    assert health.status_code == 200
    # The master froze the modules before forking; each worker adds its app, engine and listeners (9,000 here).
    frozen = [int(n.replace(",", "")) for n in re.findall(r"worker ready: ([\d,]+) more startup objects", log)]
    assert len(frozen) == 2 and min(frozen) > 1_000


@pytest.mark.deadline
def test_requests_stuck_in_their_listeners_do_not_hold_up_the_acknowledgement_of_others(
    runtime: Runtime, database_url: str, slack_emulator: SlackEmulator, tmp_path: Path
) -> None:
    """Bolt runs listeners on an executor of 5 threads unless told otherwise: 8 modal submissions waiting for the
    database would then leave a ninth request without a thread to acknowledge it in Slack's 3 seconds."""
    slack_emulator.add_user("U0001", "alice")
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=slack_emulator.team_id)
    with serving(bot_env(database_url, slack_emulator), tmp_path, "--workers", "1") as bot:
        submissions: list[httpx.Response] = []

        def submit(title: str) -> None:
            payload = _new_initiative_submission(title, team_id=slack_emulator.team_id)
            submissions.append(post_signed(bot.url + "/slack/events", interaction_body(payload), SIGNING_SECRET))

        with _database_write_lock(database_url):
            stuck = [threading.Thread(target=submit, args=(f"Model {n}",)) for n in range(8)]
            for thread in stuck:
                thread.start()
            time.sleep(1)  # all 8 are now waiting for the database, in their listeners
            help_answer = post_signed(bot.url + "/slack/events", slash_command_body(text="help"), SIGNING_SECRET)
            still_stuck = len(submissions)
        for thread in stuck:
            thread.join(30)

    assert help_answer.status_code == 200 and still_stuck == 0
    assert [r.status_code for r in submissions] == [200] * 8
    with runtime.transaction() as session:
        assert len(session.exec(select(Initiative)).all()) == 8


@pytest.mark.deadline
def test_a_modal_submission_kept_waiting_by_the_database_is_refused_before_slack_gives_up_and_changes_nothing(
    runtime: Runtime, database_url: str, slack_emulator: SlackEmulator, tmp_path: Path
) -> None:
    """Slack stops waiting for the answer after 3 seconds; a commit after that would record what the person was
    shown had failed."""
    slack_emulator.add_user("U0001", "alice")
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=slack_emulator.team_id)
    payload = _new_initiative_submission("Fraud model", team_id=slack_emulator.team_id)
    with serving(bot_env(database_url, slack_emulator), tmp_path, "--workers", "1") as bot:
        with _database_write_lock(database_url):
            answer = post_signed(bot.url + "/slack/events", interaction_body(payload), SIGNING_SECRET, timeout=30)
            # Answered while the database is still locked, so before the lock could have let the change through.
        time.sleep(1)  # a change that was only waiting would have committed by now

    assert answer.status_code == 200
    assert answer.json()["response_action"] == "push"
    assert answer.json()["view"]["blocks"][0]["text"]["text"] == SOMETHING_WENT_WRONG
    with runtime.transaction() as session:
        assert session.exec(select(Initiative)).all() == []


def test_serve_refuses_to_start_on_a_database_that_is_behind(slack_emulator: SlackEmulator, tmp_path: Path) -> None:
    env = bot_env(f"sqlite:///{tmp_path / 'new.db'}", slack_emulator)

    result = run_cli(["serve"], env, tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip() == ("initiative-bot: the database has no schema: run `initiative-bot db upgrade`")


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET is not set: expected the signing secret from Basic Information"),
        ("SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN is not set (or SLACK_BOT_TOKEN_FILE, a file holding it): expected the "
                            "bot token from OAuth & Permissions"),
    ],
)
def test_serve_names_a_missing_setting_in_one_line(
    slack_emulator: SlackEmulator, tmp_path: Path, missing: str, message: str
) -> None:
    env = bot_env("sqlite:///unused.db", slack_emulator)
    del env[missing]

    result = run_cli(["serve"], env, tmp_path)

    assert (result.returncode, result.stderr.strip()) == (2, f"initiative-bot: {message}")


def test_serve_refuses_a_token_slack_rejects(runtime: Runtime, database_url: str, tmp_path: Path) -> None:
    with SlackEmulator(bot_token="xoxb-the-real-one") as emulator:
        env = bot_env(database_url, emulator) | {"SLACK_BOT_TOKEN": "xoxb-revoked"}

        result = run_cli(["serve"], env, tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip().startswith("initiative-bot: SLACK_BOT_TOKEN was refused by Slack (invalid_auth)")


def test_sigterm_lets_in_flight_requests_acknowledged_commands_and_the_message_being_sent_finish(
    runtime: Runtime, database_url: str, slack_emulator: SlackEmulator, tmp_path: Path
) -> None:
    slack_emulator.add_user("U0001", "alice")
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=slack_emulator.team_id)
    with serving(bot_env(database_url, slack_emulator), tmp_path, "--workers", "1") as bot:
        slack_emulator.inject("chat.postMessage", delay=4)  # still in flight when SIGTERM arrives
        with runtime.transaction() as session:
            enqueue(session, team_id="T0001", method="chat.postMessage", payload={"channel": "U0001", "text": "hi"})
        _wait_until(lambda: any(call.status == 0 for call in slack_emulator.calls_to("chat.postMessage")))
        with _database_write_lock(database_url):
            # A request that is now stuck in the middle, waiting for the database.
            answers: list[httpx.Response] = []
            request = threading.Thread(
                target=lambda: answers.append(
                    post_signed(bot.url + "/slack/events", event_body(HOME_OPENED, event_id="EvLate"), SIGNING_SECRET)
                )
            )
            request.start()
            # A command acknowledged at once, whose work (and answer) is waiting for the database too. (It writes:
            # a command that only reads takes no write lock on SQLite, and would not wait.)
            response_url = slack_emulator.new_response_url()
            command = post_signed(bot.url + "/slack/events",
                                  slash_command_body(text="new Churn model", response_url=response_url), SIGNING_SECRET)
            assert command.status_code == 200 and not command.content
            # Both sleeps together stay under the 2 s a request on Slack's clock may wait for a lock (bot.app).
            time.sleep(0.5)
            assert slack_emulator.responses(response_url) == []
            bot.process.send_signal(15)  # SIGTERM
            time.sleep(0.5)
        request.join(30)
        exit_code = bot.process.wait(30)
        log = bot.log

    assert [r.status_code for r in answers] == [200]
    assert exit_code == 0 and "stopped cleanly" in log and "Traceback" not in log
    with runtime.transaction() as session:
        assert session.exec(select(SlackEventReceipt.event_id)).all() == ["EvLate"]
        # (What recording the initiative enqueued waits for the next start.)
        assert [row.state for row in session.exec(select(OutboxMessage)) if row.payload.get("text") == "hi"] == ["sent"]
    assert [m["text"] for m in slack_emulator.messages()] == ["hi"]
    [answer] = slack_emulator.responses(response_url)
    assert answer["text"].startswith("Recorded *AI-1*")  # answered after SIGTERM, before exit


@contextmanager
def _database_write_lock(database_url: str) -> Iterator[None]:
    """Hold the lock every write needs (SQLite), or the receipts and workspace tables (PostgreSQL, where a command
    reads its workspace first), until the block ends."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("COMMIT")
            connection.close()
        return
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection:
        connection.execute("LOCK TABLE slack_event_receipt, workspace IN ACCESS EXCLUSIVE MODE")
        yield
        connection.commit()


def _new_initiative_submission(title: str, *, team_id: str) -> dict[str, Any]:
    """alice (U0001) submitting the new-initiative modal."""
    return view_submission_payload(ids.NEW_INITIATIVE_MODAL, {
        "title": {ids.VALUE: {"type": "plain_text_input", "value": title}},
        "risk_tier": {ids.VALUE: {"type": "static_select", "selected_option": {"value": "low"}}},
    }, user_id="U0001", team_id=team_id)


def _wait_until(condition, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_metrics_from_two_workers_count_what_slack_sent_and_what_reached_slack(
    runtime: Runtime, database_url: str, slack_emulator: SlackEmulator, tmp_path: Path
) -> None:
    slack_emulator.add_user("U0001", "alice")
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=slack_emulator.team_id)
    env = bot_env(database_url, slack_emulator, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    with serving(env, tmp_path, "--workers", "2") as bot:
        events = bot.url + "/slack/events"
        for title in ("Fraud model", "Churn model"):
            payload = _new_initiative_submission(title, team_id=slack_emulator.team_id)
            assert post_signed(events, interaction_body(payload), SIGNING_SECRET).status_code == 200
        for _ in range(3):
            assert post_signed(events, slash_command_body(text="help"), SIGNING_SECRET).status_code == 200
        for key in ("AI-1", "AI-2"):
            click = block_actions_payload(ids.VIEW_INITIATIVE, key, user_id="U0001", team_id=slack_emulator.team_id,
                                          trigger_id=slack_emulator.new_trigger_id())
            assert post_signed(events, interaction_body(click), SIGNING_SECRET).status_code == 200
        for _ in range(2):  # Slack's retry of the same event
            assert post_signed(events, event_body(HOME_OPENED, event_id="EvHome"), SIGNING_SECRET).status_code == 200
        forged = post_signed(events, slash_command_body(text="help"), SIGNING_SECRET, signature=BAD_SIGNATURE)
        assert forged.status_code == 401
        _wait_until(lambda: len(slack_emulator.calls_to("views.open")) == 2
                    and len(slack_emulator.calls_to("views.publish")) >= 1)
        _wait_until(lambda: _samples(bot.url).get(("initiative_bot_outbox_pending_total", ())) is None
                    and ("initiative_bot_job_runs_total", (("job", "nudge_sweep"), ("result", "ok"))) in
                    _samples(bot.url))
        assert run_cli(["audit", "verify"], env, tmp_path).returncode == 0
        # A worker that exits (gunicorn starts another) takes none of the counts with it.
        first, _ = _workers(bot.process.pid)
        os.kill(first, signal.SIGTERM)
        _wait_until(lambda: len(workers := _workers(bot.process.pid)) == 2 and first not in workers)
        _wait_until(lambda: bot.log.count("worker ready") == 3)
        samples = _samples(bot.url)
        worker_files = {path.name.rsplit("_", 1)[-1] for path in (tmp_path / "metrics").glob("counter_*.db")}

    requests = {labels: value for (name, labels), value in samples.items()
                if name == "initiative_bot_slack_requests_total"}
    assert requests == {
        (("outcome", "ok"), ("surface", "view")): 2,
        (("outcome", "ok"), ("surface", "command")): 3,
        (("outcome", "ok"), ("surface", "action")): 2,
        (("outcome", "ok"), ("surface", "event")): 1,
        (("outcome", "deduplicated"), ("surface", "event")): 1,
        (("outcome", "refused"), ("surface", "unknown")): 1,
    }
    acknowledged = {dict(labels)["surface"]: value for (name, labels), value in samples.items()
                    if name == "initiative_bot_slack_ack_seconds_count"}
    assert acknowledged == {"view": 2, "command": 3, "action": 2, "event": 2, "unknown": 1}
    # Every Web API call the workers made, as Slack saw it (the master's own auth.test before forking aside).
    reached_slack: dict[tuple[str, str], int] = {}
    for call in slack_emulator.calls:
        key = (call.method, "ok" if call.ok else "error")
        reached_slack[key] = reached_slack.get(key, 0) + 1
    counted = {(dict(labels)["method"], dict(labels)["result"]): int(value) for (name, labels), value in samples.items()
               if name == "initiative_bot_slack_api_calls_total"}
    master_auth_test = {("auth.test", "ok"): counted.get(("auth.test", "ok"))}
    assert counted == reached_slack | master_auth_test
    assert counted[("views.open", "ok")] == 2 and counted[("views.publish", "ok")] >= 1
    assert samples[("initiative_bot_audit_verify_last_ok", ())] == 1
    assert samples[("initiative_bot_database_up", ())] == 1
    assert samples[("initiative_bot_audit_newest_event_age_seconds", ())] >= 0
    # Bounded labels only: no user, team, initiative or URL anywhere.
    values = " ".join(value for _, labels in samples for _, value in labels)
    assert not any(word in values for word in ("U0001", slack_emulator.team_id, "AI-", "http"))
    assert len(worker_files) >= 2  # files from more than one process were added up


def _workers(master: int) -> list[int]:
    """The process ids of a gunicorn master's workers."""
    return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One scrape of /metrics, parsed by Prometheus' own parser: {(sample name, sorted labels): value}."""
    answer = httpx.get(url + "/metrics", timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the same on PostgreSQL (above)
def test_scheduler_serves_its_jobs_metrics_and_stops_on_sigterm(
    database_url: str, slack_emulator: SlackEmulator, tmp_path: Path
) -> None:
    port = free_port()
    with (tmp_path / "scheduler.log").open("w") as log:
        process = subprocess.Popen([*CLI, "scheduler", "--metrics-host", "127.0.0.1", "--metrics-port", str(port)],
                                   env=bot_env(database_url, slack_emulator), cwd=tmp_path, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def nudge_sweep_ran() -> bool:
            try:
                return ("initiative_bot_job_runs_total", (("job", "nudge_sweep"), ("result", "ok"))) in _samples(
                    f"http://127.0.0.1:{port}")
            except httpx.TransportError:
                return False

        _wait_until(nudge_sweep_ran)
        samples = _samples(f"http://127.0.0.1:{port}")
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()

    assert exit_code == 0
    assert samples[("initiative_bot_job_duration_seconds_count", (("job", "nudge_sweep"),))] >= 1
    assert samples[("initiative_bot_database_up", ())] == 1
