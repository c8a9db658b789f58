"""Nudges end to end: the sweep, zones read from users.info, delivery through the outbox to the Slack emulator
despite 429s, 500s and timeouts; snooze buttons, `user_change` and `/initiative delegate` over signed HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot.adapters.nudges import run_sweep
from bot.delivery.outbox import state_counts
from bot.delivery.sender import RetryPolicy
from bot.services.access.delegation import current_delegation
from bot.services.access.people import zones_of
from bot.services.reviews import service as reviews
from bot.views import ids
from slack_emulator import validate_blocks
from slack_emulator.requests import block_actions_payload
from storage.models import GateReview, NudgeSnooze, SignOff
from tests.services.nudges.support import open_review
from tests.support.factories import actor
from tests.support.slack_app import slack_app, slack_emulator  # noqa: F401

ASKED = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)  # Monday
NEXT_TUESDAY = datetime(2026, 11, 17, 14, 0, tzinfo=UTC)  # SLA passed; 09:00 in New York, 04:00 Wed in Kiritimati
ZONES = {"UBIZ": "Europe/London", "UDATA": "Pacific/Kiritimati", "UENG": "America/New_York",
         "USPONSOR": "Europe/London", "UADMIN": "Europe/Berlin"}
FAST_RETRIES = RetryPolicy(base_delay=0.05, max_delay=0.2, request_timeout=1, claim_seconds=10)


@pytest.fixture
def app(slack_app):  # noqa: F811
    for user_id, tz in ZONES.items():
        slack_app.emulator.add_user(user_id, user_id.lower(), tz=tz)
    return slack_app


def _deliver_everything(app, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.deliver_outbox(policy=FAST_RETRIES)
        with app.runtime.transaction() as session:
            counts = state_counts(session)
        if counts["pending"] == 0:
            assert counts["failed"] == 0
            return
        time.sleep(0.1)
    raise AssertionError(f"the outbox still holds pending messages after {timeout}s: {counts}")


def test_every_nudge_and_escalation_arrives_once_despite_429_500_and_timeouts(app):
    team = app.emulator.team_id
    open_review(app.runtime, asked=ASKED, team_id=team, title="Claims triage")
    open_review(app.runtime, asked=ASKED.replace(hour=11), team_id=team, title="Invoice extraction")
    emulator = app.emulator
    emulator.inject("chat.postMessage", retry_after=1)
    emulator.inject("chat.postMessage", status=500, times=2)
    emulator.inject("chat.postMessage", delay=1.5, status=503)  # the client gives up after 1 s; nothing posted
    client = WebClient(token=emulator.bot_token, base_url=emulator.base_url)

    first = run_sweep(app.runtime, now=NEXT_TUESDAY, client=client)
    _deliver_everything(app)
    again = run_sweep(app.runtime, now=NEXT_TUESDAY.replace(hour=16), client=client)
    _deliver_everything(app)

    with app.runtime.transaction() as session:
        assert {u: z.key for u, z in zones_of(session, team_id=team).items()} == ZONES  # read from users.info
    assert first.written == 4 and again.written == 0
    received = {user: [m for m in emulator.messages(emulator.dm_channel(user)) if _is_nudge(m)]
                if emulator.dm_channel(user) else [] for user in ZONES}
    assert {user: len(messages) for user, messages in received.items()} == {
        "UBIZ": 1, "UENG": 1, "USPONSOR": 1, "UADMIN": 1, "UDATA": 0,  # 04:00 in Kiritimati: not yet
    }
    assert received["UBIZ"][0]["text"] == "Reminder: 2 sign-offs waiting for your decision."
    assert received["USPONSOR"][0]["text"] == "6 sign-offs past their SLA need a push."
    for user in ("UBIZ", "USPONSOR"):
        validate_blocks(received[user][0]["blocks"], "message")
    assert not emulator.calls_to("conversations.open")  # a user ID is the DM's channel



def test_what_is_decided_before_a_nudge_is_sent_is_left_out_and_a_nudge_left_empty_is_not_sent(app):
    """The decisions' transactions leave the queued nudges alone; the sender renders each as things are then."""
    team = app.emulator.team_id
    first = open_review(app.runtime, asked=ASKED, team_id=team, title="Claims triage")
    second = open_review(app.runtime, asked=ASKED.replace(hour=11), team_id=team, title="Invoice extraction")
    assert run_sweep(app.runtime, now=NEXT_TUESDAY).written == 5  # three nudges, two escalations

    for sign_off_id, user_id in ((first["business"], "UBIZ"), (first["engineering"], "UENG"),
                                 (second["engineering"], "UENG")):
        with app.runtime.transaction() as session:
            sign_off = session.get(SignOff, sign_off_id)
            review = session.get(GateReview, sign_off.review_id)
            reviews.approve(session, actor=actor(user_id, team_id=team), sign_off_id=sign_off_id,
                            ticked=[item.id for item in reviews.checklist_of(session, sign_off, review)])
    _deliver_everything(app)

    emulator = app.emulator
    received = {user: [m["text"] for m in emulator.messages(emulator.dm_channel(user)) if _is_nudge(m)]
                if emulator.dm_channel(user) else [] for user in ZONES}
    assert received == {
        "UBIZ": ["Reminder: 1 sign-off waiting for your decision."],
        "UDATA": ["Reminder: 2 sign-offs waiting for your decision."],
        "UENG": [],  # both of its sign-offs decided: withdrawn, never posted
        "USPONSOR": ["3 sign-offs past their SLA need a push."],
        "UADMIN": ["3 sign-offs past their SLA need a push."],
    }

def test_snooze_button_quiets_reminders_until_monday(app):
    response = app.interact(block_actions_payload(
        ids.SNOOZE_UNTIL_MONDAY, "monday", block_id=ids.SNOOZE_BLOCK, user_id="UBIZ",
        team_id=app.emulator.team_id, channel_id="D0BIZ", response_url=app.emulator.new_response_url(),
        message={"ts": "1.0", "text": "Reminder"},
    ))

    assert response.status_code == 200
    posts = _wait_for_posts(app)  # the listener answers after its acknowledgement, once it has saved
    assert posts[0]["text"].startswith("Snoozed: no reminders until <!date^")
    with app.runtime.transaction() as session:
        row = session.get(NudgeSnooze, (app.emulator.team_id, "UBIZ"))
    assert row is not None and row.until.weekday() == 0  # a Monday, 09:00 in the default zone (UTC)
    assert (row.until.hour, row.until.minute) == (9, 0)


def test_user_change_event_updates_the_stored_zone(app):
    team = app.emulator.team_id
    response = app.event({"type": "user_change", "user": {"id": "UBIZ", "team_id": team,
                                                          "tz": "Asia/Kolkata"}})
    assert response.status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with app.runtime.transaction() as session:
            zone = zones_of(session, team_id=team).get("UBIZ")
        if zone is not None:
            break
        time.sleep(0.05)
    assert zone is not None and zone.key == "Asia/Kolkata"


def test_delegate_command_sets_and_ends_a_delegation(app):
    team = app.emulator.team_id
    answer = app.ask("delegate <@UDEPUTY|deputy> until 2099-12-24", user_id="UBIZ", team_id=team)
    assert answer["text"].startswith("Delegate for at most a year")

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    answer = app.ask(f"delegate <@UDEPUTY|deputy> until {tomorrow}", user_id="UBIZ", team_id=team)
    assert "<@UDEPUTY> can decide your sign-offs" in answer["text"]
    assert "(Europe/London)" in answer["text"]  # 23:59 in their own zone, read from users.info
    with app.runtime.transaction() as session:
        assert current_delegation(session, team_id=team, owner="UBIZ", now=datetime.now(UTC)) is not None

    answer = app.ask("delegate off", user_id="UBIZ", team_id=team)
    assert answer["text"].startswith("Your delegation to <@UDEPUTY> has ended")
    with app.runtime.transaction() as session:
        assert current_delegation(session, team_id=team, owner="UBIZ", now=datetime.now(UTC)) is None
    answer = app.ask("delegate someone", user_id="UBIZ", team_id=team)
    assert answer["text"].startswith("Write `/initiative delegate @someone until 2026-12-24`")


def _is_nudge(message: dict) -> bool:
    """Nudges and escalations, not the sign-off requests the surface sends when a review opens."""
    return message["text"].startswith("Reminder:") or "past their SLA" in message["text"]


def _wait_for_posts(app, url: str | None = None, timeout: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while not (posts := app.emulator.responses(url)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return posts



def test_a_reminder_due_during_do_not_disturb_is_held_until_it_ends(app):
    team, emulator = app.emulator.team_id, app.emulator
    open_review(app.runtime, asked=ASKED, team_id=team, title="Claims triage")
    emulator.add_user("UBIZ", "ubiz", tz=ZONES["UBIZ"], dnd_until=int(time.time()) + 3600)
    client = WebClient(token=emulator.bot_token, base_url=emulator.base_url)

    held = run_sweep(app.runtime, now=NEXT_TUESDAY, client=client)
    _deliver_everything(app)

    assert held.written > 0  # the others' reminders went
    assert "UBIZ" not in {notice.recipient for sweep in held.teams for notice in sweep.plan.notices}
    assert [m for m in emulator.messages(emulator.dm_channel("UBIZ")) if _is_nudge(m)] == []
    assert {call.params["user"] for call in emulator.calls_to("dnd.info")} >= {"UBIZ"}

    emulator.add_user("UBIZ", "ubiz", tz=ZONES["UBIZ"])  # Do Not Disturb ended
    run_sweep(app.runtime, now=NEXT_TUESDAY.replace(hour=15), client=client)
    _deliver_everything(app)

    assert len([m for m in emulator.messages(emulator.dm_channel("UBIZ")) if _is_nudge(m)]) == 1
