"""Bursts on SQLite (issue 14): two `serve` processes on one database file, 20 people at once. Requests that only
read take no write lock, so they neither wait for the writers nor make the writers wait; a write answered by
response_url waits for the lock as long as it takes; a write Slack waits for waits at most 2 s, then is refused
with nothing changed."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, func, select

from bot.config import Settings
from bot.presenters import sign_off_card
from bot.runtime import Runtime
from bot.services.gates.workspaces import ensure_workspace
from bot.services.initiatives.service import create_initiative
from bot.services.reviews import service as reviews
from bot.views import ids, modals
from slack_emulator import SlackEmulator
from slack_emulator.requests import (
    block_actions_payload,
    interaction_body,
    post_signed,
    slash_command_body,
    ticked_all,
    view_submission_payload,
)
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Initiative, SignOff
from tests.support.factories import actor
from tests.support.serving import BotProcess, bot_env, serving
from tests.support.slack_app import SIGNING_SECRET

PEOPLE = 20
OWNERS = [f"UOWNER{i:02d}" for i in range(PEOPLE)]
LOCKED = "database is locked"


@pytest.fixture
def database(tmp_path: Path, slack_emulator: SlackEmulator) -> Iterator[Runtime]:
    url = f"sqlite:///{tmp_path / 'burst.db'}"
    engine = make_engine(url)
    upgrade(engine)
    runtime = Runtime(settings=Settings(_env_file=None, database_url=url), engine=engine)
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=slack_emulator.team_id, name="Burst Corp")
    for user in OWNERS:
        slack_emulator.add_user(user, user.lower())
    yield runtime
    engine.dispose()


@pytest.fixture
def bots(database: Runtime, slack_emulator: SlackEmulator, tmp_path: Path) -> Iterator[list[BotProcess]]:
    """Two `serve` processes on the same SQLite file."""
    env = bot_env(database.settings.database_url, slack_emulator)
    with ExitStack() as stack:
        started = [stack.enter_context(serving(env, tmp_path, "--no-scheduler")) for _ in range(2)]
        for bot in started:  # each answers once before the burst, as a bot that has been up for a while would
            url = slack_emulator.new_response_url()
            post_signed(bot.url + "/slack/events", slash_command_body("/initiative", "help", response_url=url),
                        SIGNING_SECRET)
            slack_emulator.wait_for_responses(url, timeout=30)
        yield started


def _all_at_once(bots: list[BotProcess], bodies: list[Callable[[], str]]) -> list[httpx.Response]:
    """POST every body at the same moment, alternating between the bots. Bodies are built as they are sent,
    since a trigger_id lasts 3 s from then."""
    def post(numbered: tuple[int, Callable[[], str]]) -> httpx.Response:
        number, body = numbered
        return post_signed(bots[number % len(bots)].url + "/slack/events", body(), SIGNING_SECRET, timeout=30)

    with ThreadPoolExecutor(len(bodies)) as posting:
        return list(posting.map(post, enumerate(bodies)))


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _open_reviews(runtime: Runtime, team_id: str) -> dict[int, str]:
    """One initiative per person, each with its review open; returns {sign-off id: the person who decides it}."""
    deciders: dict[int, str] = {}
    with runtime.transaction() as session:
        for owner in OWNERS:
            initiative = create_initiative(session, actor=actor("UMARIA", team_id=team_id), title=f"Model of {owner}",
                                           owners={"business": owner, "data": "UDATA", "engineering": "UENG"})
            review = reviews.submit_for_next_gate(session, actor=actor(owner, team_id=team_id), initiative=initiative)
            deciders |= {s.id: owner for s in reviews.sign_offs_of(session, review_id=review.id)
                         if s.role == "business"}
    return deciders


@pytest.mark.deadline
def test_twenty_owners_deciding_while_twenty_checklists_open(database, bots, slack_emulator):
    """Opening a checklist only reads: it neither waits for the decisions being written, nor makes them wait.
    Each decision waits at most 2 s for the write lock (one that could not would be refused, its sign-off
    untouched); with the lean decision path, 20 at once all get it: none is lost to "database is locked"."""
    deciders = _open_reviews(database, slack_emulator.team_id)
    with database.read() as session:
        data_sign_offs = [s.id for s in session.exec(select(SignOff).where(SignOff.role == "data"))]
        checklists = {sign_off_id: modals.checklist(sign_off_card(session, session.get(SignOff, sign_off_id),
                                                                  default_zone=database.settings.default_zone))
                      for sign_off_id in deciders}

    def click(sign_off_id: int) -> Callable[[], str]:
        return lambda: interaction_body(block_actions_payload(
            ids.APPROVE, ids.sign_off_value(sign_off_id), user_id="UDATA", channel_id="D000",
            trigger_id=slack_emulator.new_trigger_id(), response_url=slack_emulator.new_response_url()))

    decisions = [partial(interaction_body, view_submission_payload(
        ids.CHECKLIST_MODAL, ticked_all(modal), modal["private_metadata"], deciders[sign_off_id], view=modal))
        for sign_off_id, modal in checklists.items()]
    answers = _all_at_once(bots, [request for pair in zip(decisions, map(click, data_sign_offs), strict=True)
                                  for request in pair])
    _wait_for(lambda: len([c for c in slack_emulator.calls_to("views.open") if c.status]) == PEOPLE, "the checklists")

    assert [a.status_code for a in answers] == [200] * 2 * PEOPLE
    # No click failed on a lock. (A trigger_id lasts 3 s, which a loaded machine may miss: not this test's topic.)
    assert [record for bot in bots for record in _log_records(bot.log)
            if "unhandled error in block_actions" in record and LOCKED in record] == []
    submitted = answers[::2]
    recorded = {sign_off_id for sign_off_id, answer in zip(checklists, submitted, strict=True)
                if answer.content == b""}  # the modal simply closed
    refused = [answer.json() for sign_off_id, answer in zip(checklists, submitted, strict=True)
               if sign_off_id not in recorded]
    assert refused == []
    with Session(database.engine) as session:
        states = dict(session.exec(select(SignOff.id, SignOff.state).where(SignOff.id.in_(deciders))).all())  # type: ignore[attr-defined]
    assert states == {sign_off_id: "approved" if sign_off_id in recorded else "pending" for sign_off_id in deciders}


def _log_records(log: str) -> list[str]:
    """A log's records, each with its traceback."""
    return re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:)", log)


@pytest.mark.deadline
def test_twenty_new_initiatives_at_once_are_all_recorded(database, bots, slack_emulator):
    response_urls = [slack_emulator.new_response_url() for _ in OWNERS]
    commands = _all_at_once(bots, [partial(
        slash_command_body, "/initiative", f"new Forecast {n} business=<@{owner}> data=<@{owner}> eng=<@{owner}>",
        user_id=owner, response_url=url) for n, (owner, url) in enumerate(zip(OWNERS, response_urls, strict=True))])
    answers = [slack_emulator.wait_for_responses(url, timeout=60)[0]["text"] for url in response_urls]

    assert [c.status_code for c in commands] == [200] * PEOPLE
    assert [a for a in answers if "Recorded *AI-" not in a] == []
    with Session(database.engine) as session:
        assert session.exec(select(func.count()).select_from(Initiative)).one() == PEOPLE
    assert not [bot for bot in bots if LOCKED in bot.log]
