"""Refusals fit the surface they come from, and change nothing: a command gets a private reply, a button in a
message an ephemeral message by response_url, App Home and modals a modal."""

from __future__ import annotations

from sqlmodel import select

from bot.views import ids
from slack_emulator.requests import button, ticked_all
from storage.models import AuditEvent, Initiative, SignOff
from tests.listeners.conftest import Slack
from tests.listeners.test_sign_off_round_trip import open_review, request_dm

RETIRE_REFUSED = ("Only an admin can retire an initiative, which is for merges and duplicates; to stop one, its "
                  "sponsor or an admin kills it: `/initiative kill AI-1`.")


def audit_count(runtime) -> int:
    with runtime.transaction() as session:
        return len(session.exec(select(AuditEvent)).all())


def test_a_refused_command_gets_a_private_reply_and_changes_nothing(slack: Slack, runtime) -> None:
    slack.command("new Alpha business=<@UMARIA|maria>")
    before = audit_count(runtime)
    answer = slack.command("retire AI-1 not needed", user="UMARIA")
    assert (answer["response_type"], answer["text"]) == ("ephemeral", RETIRE_REFUSED)
    answer = slack.command("pause AI-1", user="UOTTO")
    assert answer["text"] == "Only AI-1's owners or an admin can pause it."
    assert audit_count(runtime) == before
    with runtime.transaction() as session:
        assert session.exec(select(Initiative)).one().status == "active"
    assert not slack.emulator.calls_to("chat.postMessage")


def test_a_refused_button_in_a_message_answers_by_response_url(slack: Slack, runtime) -> None:
    open_review(slack)
    dm = request_dm(slack, "UDEV")
    before = audit_count(runtime)
    _, response_url = slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user="UOTTO", message=dm,
                                  channel=dm["channel"])
    answer = slack.answer_at(response_url)
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert answer["text"] == "Only the data owner of AI-1 can decide this sign-off."
    assert not slack.emulator.calls_to("views.open") and audit_count(runtime) == before


def test_a_refused_click_in_app_home_is_answered_in_a_modal(slack: Slack, runtime) -> None:
    open_review(slack)
    slack.command("pause AI-1 budget freeze")
    dm = request_dm(slack, "UDEV")
    slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user="UDEV", home=True)
    notice = slack.opened_modal()
    assert notice["callback_id"] == ids.NOTICE_MODAL and not notice.get("submit")
    assert "AI-1 is paused; resume it before deciding." in str(notice["blocks"])
    with runtime.transaction() as session:
        assert {s.state for s in session.exec(select(SignOff))} == {"pending"}


def test_a_refused_modal_submission_is_answered_in_the_modal(slack: Slack, runtime) -> None:
    open_review(slack)
    dm = request_dm(slack, "UDEV")
    slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user="UDEV", message=dm, channel=dm["channel"])
    modal = slack.opened_modal()
    slack.command("pause AI-1")
    before = audit_count(runtime)
    answer = slack.submit(modal, ticked_all(modal), user="UDEV")
    assert answer["response_action"] == "update"
    assert "AI-1 is paused; resume it before deciding." in str(answer["view"]["blocks"])
    assert audit_count(runtime) == before


def test_a_forged_button_value_is_refused_without_a_trace(slack: Slack) -> None:
    _, response_url = slack.click(ids.APPROVE, "1; DROP TABLE sign_off", user="UDEV", channel="D000")
    assert slack.answer_at(response_url)["text"] == "That button is not one of this bot's sign-off buttons."
