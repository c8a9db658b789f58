"""The playground in a real browser: a person clicks and types through the bot's main loop, and sees only what
Slack would show them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, select

from storage.models import GateReview, Initiative, SignOff

pytestmark = pytest.mark.slow  # a browser per module: seconds, not milliseconds; CI runs them


def act_as(page: Any, user_id: str) -> None:
    page.select_option("#person", user_id)


def command(page: Any, text: str) -> None:
    page.fill("#composer-input", f"/initiative {text}")
    page.press("#composer-input", "Enter")


def field(page: Any, label: str) -> Any:
    return page.locator("#modal-body .input").filter(has=page.locator("label", has_text=label))


def test_an_initiative_goes_from_idea_through_its_gate_and_into_the_digest(page):
    # 1. Maria creates an initiative through the modal.
    command(page, "new")
    expect(page.locator("#modal-title")).to_have_text("New initiative")
    field(page, "Title").locator("input").fill("Fraud alerts triage")
    field(page, "Risk tier").locator("select").select_option("low")
    for role, person in (("Business", "U0MARIA"), ("Data", "U0DEV"), ("Engineering", "U0ENG")):
        field(page, role).locator("select").select_option(person)
    page.click("#modal-submit")
    expect(page.locator("#modal-body")).to_contain_text("Recorded AI-8.")  # the bot's response_action=update
    page.click("#modal-close")
    expect(page.locator("#modal-backdrop")).to_be_hidden()

    # 2. She submits it for review.
    command(page, "submit AI-8")
    expect(page.locator("#messages")).to_contain_text("AI-8")
    page.screenshot(path=page.screenshots / "playground-channel.png")

    # 3-6. Each owner opens their DM and approves through the checklist modal.
    for number, owner in enumerate(("U0MARIA", "U0DEV", "U0ENG")):
        act_as(page, owner)
        page.click("#open-dm")
        request = page.locator(".message", has_text="Sign-off requested: AI-8").filter(
            has=page.get_by_role("button", name="Approve", exact=True))
        request.last.get_by_role("button", name="Approve", exact=True).click()
        expect(page.locator("#modal-title")).to_have_text("Approve sign-off")
        if number == 0:  # the bot's field error, shown under its field, then corrected
            page.click("#modal-submit")
            expect(page.locator("#modal-body .input.invalid .error").first).not_to_be_empty()
            page.screenshot(path=page.screenshots / "playground-modal-error.png")
        for box in page.locator("#modal-body input[type=checkbox]").all():
            box.check()
        page.click("#modal-submit")
        expect(page.locator("#modal-backdrop")).to_be_hidden()

    # 6. The initiative advances, announced in the channel it was created in (the modal's default).
    page.click("button.conv[data-conv=C0GENERAL]")
    expect(page.locator("#messages")).to_contain_text("AI-8 Fraud alerts triage passed")

    # 7. Maria's App Home.
    act_as(page, "U0MARIA")
    page.click("#open-dm")
    page.click("#tab-home")
    expect(page.locator("#home")).to_contain_text("AI-8")

    # 8. The weekly digest, with its chart.
    page.click("#post-digest")
    expect(page.locator("#said")).to_contain_text("Digest posted to #ai-portfolio")
    page.click("button.conv[data-conv=C0PORTFOLIO]")
    chart = page.locator("#messages img.file")
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    chart.scroll_into_view_if_needed()
    page.screenshot(path=page.screenshots / "playground-digest.png")
    expect(page.locator("#notices .notice")).to_have_count(0)  # Slack refused nothing on the way


@pytest.mark.parametrize("playground", [False], indirect=True, ids=["empty"])
def test_an_answer_meant_for_one_person_is_shown_to_them_only_and_user_text_stays_text(page):
    command(page, "new <script>document.title='pwned'</script> risk=low")  # AI-1 in an empty playground
    answer = page.locator(".message.ephemeral", has_text="<script>")
    expect(answer).to_contain_text("Only visible to you")
    assert page.title() == "Initiative Bot playground"  # the title is shown, never run

    act_as(page, "U0DEV")
    expect(page.locator("#person")).to_have_value("U0DEV")
    expect(page.locator(".message.ephemeral", has_text="<script>")).to_have_count(0)


@pytest.mark.parametrize("playground", [False], indirect=True, ids=["empty"])
def test_what_slack_refuses_shows_as_a_red_notice(page, playground):
    emulator = playground.stack.emulator
    too_many = [{"type": "divider"}] * 51  # Slack allows 50 blocks in a message
    with pytest.raises(SlackApiError):
        WebClient(token=emulator.bot_token, base_url=emulator.base_url).chat_postMessage(
            channel="C0GENERAL", text="too long", blocks=too_many)

    notice = page.locator("#notices .notice")
    expect(notice).to_contain_text("Slack refused chat.postMessage: invalid_blocks")
    expect(notice).to_contain_text("must contain at most 50 blocks")


def test_a_condition_names_its_person_with_an_at_mention_as_in_slack(page, playground):
    command(page, "new")
    field(page, "Title").locator("input").fill("Claims triage")
    field(page, "Risk tier").locator("select").select_option("low")
    for role, person in (("Business", "U0MARIA"), ("Data", "U0DEV"), ("Engineering", "U0ENG")):
        field(page, role).locator("select").select_option(person)
    page.click("#modal-submit")
    expect(page.locator("#modal-body")).to_contain_text("Recorded AI-8.")
    page.click("#modal-close")
    command(page, "submit AI-8")

    page.click("#open-dm")
    request = page.locator(".message", has_text="Sign-off requested: AI-8")
    request.last.get_by_role("button", name="Approve with conditions").click()
    expect(page.locator("#modal-title")).to_have_text("Approve with conditions")
    for box in page.locator("#modal-body input[type=checkbox]").all():
        box.check()
    # Maria names Dev as the person, as she would pick him from Slack's @-menu.
    field(page, "Conditions").locator("textarea").fill("Retraining pipeline in place @Dev\nModel card published")
    page.click("#modal-submit")
    expect(page.locator("#modal-backdrop")).to_be_hidden()

    # Her approval keeps its conditions, each with its owner, until the gate passes and they are tracked.
    with Session(playground.stack.runtime.engine) as session:
        ai_8 = session.exec(select(Initiative).where(Initiative.number == 8)).one()
        approval = session.exec(select(SignOff).join(GateReview).where(
            GateReview.initiative_id == ai_8.id, SignOff.assignee == "U0MARIA")).one()
    assert approval.state == "approved"
    assert [(c["text"], c["owner"]) for c in approval.conditions] == [("Retraining pipeline in place", "U0DEV"),
                                                                       ("Model card published", "U0MARIA")]


@pytest.mark.parametrize("playground", [False], indirect=True, ids=["empty"])
def test_rich_text_shows_the_people_and_channels_it_mentions_by_name(page, playground):
    emulator = playground.stack.emulator
    noon = int(datetime(2026, 12, 7, 12, 0, tzinfo=UTC).timestamp())
    line = [{"type": "text", "text": "Ask "}, {"type": "user", "user_id": "U0DEV"},
            {"type": "text", "text": " in "}, {"type": "channel", "channel_id": "C0PORTFOLIO"},
            {"type": "text", "text": " by "}, {"type": "date", "timestamp": noon, "format": "{date_long}",
                                                  "fallback": "soon"},
            {"type": "text", "text": ", "}, {"type": "broadcast", "range": "here"},
            {"type": "text", "text": " "}, {"type": "emoji", "name": "tada", "unicode": "1f389"}]
    listed = {"type": "rich_text_list", "style": "bullet", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "link", "url": "https://example.com/spec", "text": "the spec", "style": {"bold": True}}]}]}
    WebClient(token=emulator.bot_token, base_url=emulator.base_url).chat_postMessage(
        channel="C0GENERAL", text="Ask Dev", blocks=[{"type": "rich_text", "elements": [
            {"type": "rich_text_section", "elements": line}, listed]}])

    message = page.locator(".message", has_text="Ask")
    expect(message).to_contain_text("Ask @Dev (Data platform) in #ai-portfolio by Monday, December 7th, 2026, @here 🎉")
    expect(message.locator("li b a")).to_have_attribute("href", "https://example.com/spec")
