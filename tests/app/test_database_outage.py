"""Clicks are acknowledged in time while every listener thread waits for a stalled PostgreSQL (issue 22, item 5).

The app runs in the test process with a listener pool smaller than `serve`'s (which has at least 32 threads), so
that a handful of clicks occupy it all; the attacks themselves (a checklist submitted during a stall, a click
while the database refuses, `/healthz` through both) are sent to a running `serve` in
tests/security/test_database_outage.py. The bot reaches its database through a proxy the test pauses (a
network-level stall: connections stay open and nothing comes back). What Slack allows: an answer within 3 s; the
test leaves 0.5 s of it for the network between Slack and the bot, so the bot must answer within 2.5 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bot.config import load_settings
from bot.runtime import Runtime
from bot.services.gates.workspaces import ensure_workspace
from bot.views import ids
from slack_emulator import SlackEmulator
from slack_emulator.requests import button
from storage.db import make_engine
from tests.listeners.conftest import PEOPLE, Slack
from tests.listeners.test_sign_off_round_trip import request_dm
from tests.support.factories import TEAM
from tests.support.slack_app import serve_in_thread
from tests.support.tcp_proxy import TcpProxy

ANSWER_WITHIN = 2.5  # Slack's 3 s, less 0.5 s for the network
LISTENER_THREADS = 2  # few, so that a handful of requests waiting for the database occupy them all


@dataclass
class Outage:
    proxy: TcpProxy
    slack: Slack


@pytest.fixture
def outage(postgres_url: str, slack_emulator: SlackEmulator) -> Iterator[Outage]:
    database = make_engine(postgres_url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with database.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    database.dispose()
    url = make_url(postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
        runtime = Runtime.from_settings(load_settings(_env_file=None, admin_user_ids="UADMIN", database_url=proxied))
        with runtime.transaction() as session:
            ensure_workspace(session, team_id=TEAM, name="Test Corp")
        for user_id, name in PEOPLE.items():
            slack_emulator.add_user(user_id, name)
        with serve_in_thread(runtime, slack_emulator, listener_threads=LISTENER_THREADS) as running:
            yield Outage(proxy, Slack(running))
        runtime.engine.dispose()


def _sign_off_dm(slack: Slack, user: str) -> dict[str, Any]:
    """Open a review of a new initiative; the sign-off request DM `user` got."""
    assert "Recorded *AI-1*" in slack.command("new Churn model business=<@UMARIA> data=<@UDEV> eng=<@UERIN>")["text"]
    assert "Review of *AI-1*" in slack.command("submit AI-1")["text"]
    slack.deliver()
    return request_dm(slack, user)


@pytest.mark.deadline
def test_clicks_are_acknowledged_while_every_listener_thread_waits_for_a_stalled_database(outage):
    slack = outage.slack
    dm = _sign_off_dm(slack, "UDEV")
    value = button(dm, ids.APPROVE)["value"]

    def click(_: int) -> float:
        started = time.monotonic()
        slack.click(ids.APPROVE, value, user="UDEV", message=dm, channel=dm["channel"])  # asserts the 200
        return time.monotonic() - started

    outage.proxy.pause()
    try:
        # Three times as many clicks as listener threads: each listener waits for the database until its
        # transaction's deadline, and the later clicks' listeners wait for those.
        with ThreadPoolExecutor(3 * LISTENER_THREADS) as clicking:
            acknowledged_after = list(clicking.map(click, range(3 * LISTENER_THREADS)))
    finally:
        outage.proxy.resume()

    assert max(acknowledged_after) < ANSWER_WITHIN
