"""App Home: a person's pending sign-offs with their buttons, and their initiatives, within 100 blocks."""

from __future__ import annotations

from sqlmodel import select

from bot.views import ids
from slack_emulator import validate_view
from slack_emulator.requests import ticked_all
from storage.models import SignOff
from tests.listeners.conftest import Slack
from tests.listeners.test_sign_off_round_trip import approve_from_dm, open_review


def open_home(slack: Slack, user: str) -> dict:
    before = len(slack.emulator.calls_to("views.publish"))
    response = slack.app.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
                                "event_ts": "1700000000.000100"})
    assert response.status_code == 200
    [call] = slack.emulator.wait_for("views.publish", before + 1)[before:]
    assert call.ok, call.response
    assert call.params["user_id"] == user
    return call.json_param("view")


def test_home_shows_pending_sign_offs_with_buttons_and_the_persons_initiatives(slack: Slack) -> None:
    open_review(slack)
    slack.command("new Side project", user="UDEV")
    home = open_home(slack, "UDEV")
    assert validate_view(home, "home") == []
    text = str(home["blocks"])
    assert "Data owner sign-off to move to Pilot" in text and "Churn model" in text and "Side project" in text
    actions = [e["action_id"] for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == [ids.APPROVE, ids.REQUEST_CHANGES]


def test_a_decision_republishes_the_home_without_the_decided_sign_off(slack: Slack) -> None:
    open_review(slack)
    assert approve_from_dm(slack, "UDEV") == {}
    slack.emulator.clear()
    slack.deliver()
    [dev_home] = [c for c in slack.emulator.calls_to("views.publish") if c.params["user_id"] == "UDEV"]
    assert "Nothing waits for you" in str(dev_home.json_param("view")["blocks"])
    published_to = sorted(c.params["user_id"] for c in slack.emulator.calls_to("views.publish"))
    assert published_to == ["UDEV", "UERIN", "UMARIA"]  # the review's people, once each; nobody else


def test_a_long_home_stays_within_100_blocks(slack: Slack) -> None:
    for number in range(30):
        slack.command(f"new Initiative {number} business=<@UDEV> data=<@UDEV> eng=<@UDEV>", user="UOTTO")
        slack.command(f"submit AI-{number + 1}", user="UOTTO")
    home = open_home(slack, "UDEV")
    assert len(home["blocks"]) <= 100 and validate_view(home, "home") == []
    assert "and 70 more" in str(home["blocks"])


def test_approve_from_app_home_opens_the_checklist_and_records_the_decision(slack: Slack, runtime) -> None:
    open_review(slack)
    home = open_home(slack, "UERIN")
    approve = next(e for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]
                   if e["action_id"] == ids.APPROVE)
    slack.click(ids.APPROVE, approve["value"], user="UERIN", home=True)
    modal = slack.opened_modal()
    assert modal["callback_id"] == ids.CHECKLIST_MODAL
    assert slack.submit(modal, ticked_all(modal), user="UERIN") == {}
    with runtime.transaction() as session:
        assert {s.role: s.state for s in session.exec(select(SignOff))}["engineering"] == "approved"
    slack.deliver()
    assert slack.emulator.warnings == []  # every message carried its plain-text fallback
