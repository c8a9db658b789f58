"""The sign-off round trip over real HTTP: DM -> button -> modal -> decision -> DM updated -> stage advanced ->
Homes republished, plus the outdated DM and the double click."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.app import TRIGGER_EXPIRED
from bot.services.access.people import record_profile
from bot.services.business_days import sla_deadline
from bot.views import ids
from bot.views.plain_text import Reader, render_blocks
from slack_emulator.requests import TEAM_ID, block_actions_payload, button, ticked_all
from storage.models import GateReview, Initiative, OutboxMessage, SignOff
from storage.types import utcnow
from tests.listeners.conftest import DIGEST_CHANNEL, Slack


def open_review(slack: Slack) -> None:
    answer = slack.command("new Churn model business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin> risk=low")
    assert "Recorded *AI-1*" in answer["text"]
    answer = slack.command("submit AI-1")
    assert "Review of *AI-1*" in answer["text"] and answer["response_type"] == "ephemeral"
    slack.deliver()


def request_dm(slack: Slack, user: str) -> dict[str, Any]:
    """The one sign-off request DM a person got (other DMs are news about the review)."""
    [dm] = [m for m in slack.dms_to(user) if m["blocks"][0]["text"]["text"].startswith("Sign-off requested")]
    return dm


def approve_from_dm(slack: Slack, user: str) -> dict[str, Any]:
    dm = request_dm(slack, user)
    slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user=user, message=dm, channel=dm["channel"])
    modal = slack.opened_modal()
    assert modal["callback_id"] == ids.CHECKLIST_MODAL
    return slack.submit(modal, ticked_all(modal), user=user)


def test_each_owner_gets_one_dm_with_the_checklist_and_both_buttons(slack: Slack) -> None:
    open_review(slack)
    for user, item in (("UMARIA", "Business problem stated"), ("UDEV", "Data sources identified"),
                       ("UERIN", "Experiments tracked")):
        [dm] = slack.dms_to(user)  # exactly one DM each
        assert dm["channel"].startswith("D")
        text = str(dm["blocks"])
        assert "AI-1" in text and "Churn model" in text and "Pilot approval" in text and item in text
        assert "low" in text  # risk tier
        assert {button(dm, ids.APPROVE)["text"]["text"], button(dm, ids.REQUEST_CHANGES)["text"]["text"]} == {
            "Approve", "Request changes"}
        assert dm["text"]  # plain-text fallback
    published = {call.params["user_id"] for call in slack.emulator.calls_to("views.publish")}
    assert published == {"UMARIA", "UDEV", "UERIN"}


def test_round_trip_updates_the_dm_tells_the_others_and_passes_the_gate(slack: Slack, runtime) -> None:
    open_review(slack)

    assert approve_from_dm(slack, "UDEV") == {}
    slack.emulator.clear()
    slack.deliver()
    dev_dm = request_dm(slack, "UDEV")
    assert not [b for b in dev_dm["blocks"] if b["type"] == "actions"]
    assert "Approved by <@UDEV>" in str(dev_dm["blocks"])
    update = slack.emulator.calls_to("chat.update")
    assert [c.params["channel"] for c in update] == [dev_dm["channel"]]
    news = [m for m in slack.dms_to("UMARIA") if "1 of 3" in m["text"]]
    assert news, slack.dms_to("UMARIA")
    assert {c.params["user_id"] for c in slack.emulator.calls_to("views.publish")} == {"UMARIA", "UDEV", "UERIN"}

    assert approve_from_dm(slack, "UERIN") == {}
    assert approve_from_dm(slack, "UMARIA") == {}
    slack.deliver()
    with runtime.transaction() as session:
        initiative = session.exec(select(Initiative)).one()
        assert initiative.stage == "pilot"
        assert {s.state for s in session.exec(select(SignOff))} == {"approved"}
    announcement = slack.emulator.messages(DIGEST_CHANNEL)
    assert len(announcement) == 1 and "passed" in announcement[0]["text"]


def test_a_click_on_an_outdated_dm_says_who_decided_and_updates_that_message(slack: Slack, runtime) -> None:
    open_review(slack)
    dm = request_dm(slack, "UDEV")
    assert approve_from_dm(slack, "UDEV") == {}
    slack.deliver()
    slack.emulator.clear()
    _, response_url = slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user="UDEV", message=dm,
                                  channel=dm["channel"])
    answer = slack.answer_at(response_url)
    assert "already approved by <@UDEV> on <!date^" in answer["text"]
    assert answer["response_type"] == "ephemeral"
    slack.deliver()
    [update] = slack.emulator.calls_to("chat.update")
    assert (update.params["channel"], update.params["ts"]) == (dm["channel"], dm["ts"])
    assert not [b for b in update.blocks if b["type"] == "actions"]


def test_a_click_whose_trigger_expired_is_told_to_try_again_without_a_stack_trace(slack: Slack, caplog) -> None:
    open_review(slack)
    dm = request_dm(slack, "UDEV")
    caplog.set_level("INFO", logger="bot")
    _, response_url = slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user="UDEV", message=dm,
                                  channel=dm["channel"], trigger_age=3.5)
    answer = slack.answer_at(response_url)
    assert answer["text"] == TRIGGER_EXPIRED and answer["response_type"] == "ephemeral"
    assert [call.response.get("error") for call in slack.emulator.calls_to("views.open")] == ["expired_trigger_id"]
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
    assert any("trigger expired" in r.getMessage() for r in caplog.records)


def test_an_owner_of_two_roles_gets_the_second_checklist_right_after_the_first(slack: Slack, runtime) -> None:
    answer = slack.command("new Churn model business=<@UMARIA|maria> data=<@UMARIA|maria> eng=<@UERIN|erin> "
                           "risk=low")
    assert "Recorded *AI-1*" in answer["text"]
    slack.command("submit AI-1")
    slack.deliver()
    first, _ = [m for m in slack.dms_to("UMARIA") if m["blocks"][0]["text"]["text"].startswith("Sign-off requested")]
    slack.click(ids.APPROVE, button(first, ids.APPROVE)["value"], user="UMARIA", message=first,
                channel=first["channel"])
    modal = slack.opened_modal()

    answer = slack.submit(modal, ticked_all(modal), user="UMARIA")

    assert answer["response_action"] == "update"
    following = answer["view"]
    assert following["callback_id"] == ids.CHECKLIST_MODAL
    assert following["private_metadata"] != modal["private_metadata"]  # the other sign-off
    assert slack.submit(following, ticked_all(following), user="UMARIA") == {}
    with runtime.transaction() as session:
        assert {s.role: s.state for s in session.exec(select(SignOff))} == {
            "business": "approved", "data": "approved", "engineering": "pending"}


def test_a_double_submission_records_one_decision(slack: Slack, runtime) -> None:
    open_review(slack)
    dm = request_dm(slack, "UDEV")
    slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user="UDEV", message=dm, channel=dm["channel"])
    modal = slack.opened_modal()
    assert slack.submit(modal, ticked_all(modal), user="UDEV") == {}
    again = slack.submit(modal, ticked_all(modal), user="UDEV")
    assert again["response_action"] == "update"
    assert "already approved by <@UDEV>" in str(again["view"]["blocks"])
    with runtime.transaction() as session:
        decided = [s for s in session.exec(select(SignOff)) if s.state != "pending"]
    assert len(decided) == 1



def test_an_incomplete_checklist_comes_back_as_errors_in_the_modal(slack: Slack, runtime) -> None:
    open_review(slack)
    dm = request_dm(slack, "UDEV")
    slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user="UDEV", message=dm, channel=dm["channel"])
    modal = slack.opened_modal()
    first_group = ticked_all(modal)
    group_id = next(iter(first_group))
    options = first_group[group_id][ids.TICKED]["selected_options"]

    def waive(*chosen: dict[str, Any]) -> dict[str, Any]:
        return {ids.VALUE: {"type": "multi_static_select", "selected_options": list(chosen)}}

    def text(value: str) -> dict[str, Any]:
        return {ids.VALUE: {"type": "plain_text_input", "value": value}}

    values = {group_id: {ids.TICKED: {"type": "checkboxes", "selected_options": options[:1]}},
              ids.WAIVE_BLOCK: waive(options[1]), ids.EVIDENCE_BLOCK: text("not a link")}
    answer = slack.submit(modal, values, user="UDEV")
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {  # the waived item needs its reason; the third is neither ticked nor waived
        ids.WAIVE_REASON_BLOCK: "Give a reason for waiving this item.",
        ids.WAIVE_BLOCK: f"Tick “{options[2]['text']['text']}” above, or choose it here with a reason below."}
    values[ids.WAIVE_REASON_BLOCK] = text("Source is public data")
    answer = slack.submit(modal, values | {ids.WAIVE_BLOCK: waive()}, user="UDEV")  # a reason, no item chosen
    assert answer == {"response_action": "errors", "errors": {
        ids.WAIVE_REASON_BLOCK: "Choose the items this reason waives above, or leave it empty."}}
    values[ids.WAIVE_BLOCK] = waive(options[1], options[2])
    answer = slack.submit(modal, values, user="UDEV")
    assert answer["response_action"] == "errors" and list(answer["errors"]) == [ids.EVIDENCE_BLOCK]
    with runtime.transaction() as session:
        assert {s.state for s in session.exec(select(SignOff))} == {"pending"}
    values[ids.EVIDENCE_BLOCK] = text("https://wiki.example.com/ai-1\n\nhttps://example.com/dq")
    assert slack.submit(modal, values, user="UDEV") == {}
    with runtime.transaction() as session:
        dev = next(s for s in session.exec(select(SignOff)) if s.role == "data")
    assert dev.state == "approved" and dev.waivers == {options[1]["value"]: "Source is public data",
                                                       options[2]["value"]: "Source is public data"}
    assert dev.evidence_links == ["https://wiki.example.com/ai-1", "https://example.com/dq"]
    slack.deliver()
    assert "https://wiki.example.com/ai-1" in str(request_dm(slack, "UDEV")["blocks"])


def test_request_changes_from_the_dm_asks_for_a_reason_and_closes_the_review(slack: Slack, runtime) -> None:
    open_review(slack)
    dm = request_dm(slack, "UERIN")
    slack.click(ids.REQUEST_CHANGES, button(dm, ids.REQUEST_CHANGES)["value"], user="UERIN", message=dm,
                channel=dm["channel"])
    modal = slack.opened_modal()
    assert modal["callback_id"] == ids.REQUEST_CHANGES_MODAL
    reason = {ids.REASON_BLOCK: {ids.VALUE: {"type": "plain_text_input", "value": "No pilot environment yet"}}}
    assert slack.submit(modal, reason, user="UERIN") == {}
    slack.deliver()
    with runtime.transaction() as session:
        assert {s.role: s.state for s in session.exec(select(SignOff))}["engineering"] == "changes_requested"
        assert session.exec(select(Initiative)).one().stage == "idea"
    for user in ("UMARIA", "UDEV", "UERIN"):
        assert not [b for b in request_dm(slack, user)["blocks"] if b["type"] == "actions"]
    assert "No pilot environment yet" in str(request_dm(slack, "UERIN")["blocks"])


def test_an_initiative_with_its_own_channel_shows_its_kpi_and_is_announced_there(slack: Slack, runtime) -> None:
    slack.emulator.add_channel("C0CHURN", "churn-model")
    assert slack.command("new", opens_modal=True, channel_id="C0CHURN") == {}
    modal = slack.opened_modal()

    def text(value: str) -> dict[str, Any]:
        return {ids.VALUE: {"type": "plain_text_input", "value": value}}

    def owner(user: str) -> dict[str, Any]:
        return {ids.VALUE: {"type": "users_select", "selected_user": user}}

    slack.submit(modal, {
        "title": text("Churn model"), "problem": text("Churn is found too late"),
        "kpi_name": text("Monthly churn"), "kpi_baseline": text("3.1%"), "kpi_target": text("2.5%"),
        "risk_tier": {ids.VALUE: {"type": "static_select", "selected_option": {"value": "low"}}},
        "owner.business": owner("UMARIA"), "owner.data": owner("UDEV"), "owner.engineering": owner("UERIN"),
        "channel_id": {ids.VALUE: {"type": "conversations_select", "selected_conversation": "C0CHURN"}},
    }, user="UMARIA")
    slack.command("submit AI-1")
    slack.deliver()
    assert "Monthly churn: 3.1% → 2.5%" in str(request_dm(slack, "UDEV")["blocks"])

    for user in ("UMARIA", "UDEV", "UERIN"):
        assert approve_from_dm(slack, user) == {}
    slack.deliver()

    [announcement] = slack.emulator.messages("C0CHURN")
    assert "passed" in announcement["text"] and "Churn model" in announcement["text"]
    assert slack.emulator.messages(DIGEST_CHANNEL) == []


def test_a_review_that_fails_before_its_commit_leaves_no_review_and_no_message_behind(slack: Slack, runtime) -> None:
    slack.command("new Churn model business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin> risk=low")
    slack.deliver()  # the owners' App Homes, republished when they became owners
    slack.emulator.clear()

    def fails_after_the_dms_were_queued(session, event) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("the database went away")  # registered after the handler that queues the DMs

    slack.app.runtime.event_handlers.append(fails_after_the_dms_were_queued)
    answer = slack.command("submit AI-1")
    slack.app.runtime.event_handlers.remove(fails_after_the_dms_were_queued)

    assert "nothing was changed" in answer["text"]
    with runtime.transaction() as session:
        assert session.exec(select(GateReview)).all() == []
        assert [m.state for m in session.exec(select(OutboxMessage))] == ["sent"] * 3  # only those Homes
    slack.deliver()
    assert [slack.dms_to(user) for user in ("UMARIA", "UDEV", "UERIN")] == [[], [], []]
    assert slack.emulator.calls_to("views.publish") == []


def test_the_dm_says_when_it_is_due_in_its_owners_zone_and_opens_the_initiatives_card(slack: Slack,
                                                                                       runtime) -> None:
    with runtime.transaction() as session:
        record_profile(session, team_id=TEAM_ID, user_id="UDEV", tz="Asia/Kolkata", now=utcnow())
    open_review(slack)
    dm = request_dm(slack, "UDEV")
    with runtime.transaction() as session:
        sign_off = next(s for s in session.exec(select(SignOff)) if s.role == "data")
        review = session.get(GateReview, sign_off.review_id)
    kolkata = ZoneInfo("Asia/Kolkata")
    due = sla_deadline(sign_off.requested_at, kolkata, review.sla_business_days)  # no holidays by default
    read = render_blocks(dm["blocks"], Reader(zone=kolkata))
    assert f"Due: {due:%b} {due.day}, {due.year} at 17:00 IST" in read.splitlines(), read
    assert "[View initiative]" in read

    slack.click(ids.VIEW_INITIATIVE, button(dm, ids.VIEW_INITIATIVE)["value"], user="UDEV", message=dm,
                channel=dm["channel"])
    card = slack.opened_modal()
    assert card["callback_id"] == ids.INITIATIVE_MODAL
    shown = render_blocks(card["blocks"], Reader(people={"UDEV": "dev"}))
    assert "AI-1 · Churn model" in shown and "Data owner (@dev): ⏳ pending" in shown
    assert "Share to channel" not in shown


def test_ticking_an_item_in_the_checklist_modal_is_acknowledged_and_changes_nothing(slack: Slack, runtime,
                                                                                    caplog) -> None:
    open_review(slack)
    dm = request_dm(slack, "UDEV")
    slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user="UDEV", message=dm, channel=dm["channel"])
    modal = slack.opened_modal()
    [group] = ticked_all(modal)
    response = slack.app.interact(block_actions_payload(ids.TICKED, action_type="checkboxes", block_id=group,
                                                        user_id="UDEV", view=modal, state_values=ticked_all(modal)))
    assert response.status_code == 200
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    with runtime.transaction() as session:
        assert {s.state for s in session.exec(select(SignOff))} == {"pending"}
