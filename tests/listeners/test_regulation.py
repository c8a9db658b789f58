"""Classification end to end: signed slash commands, clicks and modal submissions over real HTTP against the
Slack emulator, asserting on what reached Slack and on the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import html
from typing import Any

from slack_sdk.models.views import View
from sqlmodel import select

from bot.services.access.visibility import Audience
from bot.services.reviews.decision_record import build_decision_record, load_snapshot, render_markdown
from bot.views import ids
from slack_emulator.requests import block_actions_payload
from storage.models import AuditEvent, GateReview, Initiative, InitiativeClassification
from tests.listeners.conftest import Slack

TEAM_OWNERS = "business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin>"


def radios(modal: dict[str, Any], default: str = "no", **chosen: str) -> dict[str, Any]:
    """The modal's state with every question answered `default`, except those named (`annex3_employment="yes"`);
    a question named with None is left unanswered."""
    picked = {k.replace("_", "-"): v for k, v in chosen.items()}
    state = {}
    for block in modal["blocks"]:
        if block.get("block_id", "").startswith(ids.QUESTION_BLOCK_PREFIX):
            answer = picked.get(block["block_id"].removeprefix(ids.QUESTION_BLOCK_PREFIX), default)
            state[block["block_id"]] = {ids.VALUE: {"type": "radio_buttons", "selected_option":
                                                    {"value": answer} if answer else None}}
    return state


def stored(slack: Slack) -> tuple[Initiative, list[InitiativeClassification], list[str]]:
    with slack.runtime.transaction() as session:
        initiative = session.exec(select(Initiative)).one()
        rows = list(session.exec(select(InitiativeClassification).order_by(InitiativeClassification.id)))
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]
        session.expunge_all()
        return initiative, rows, actions


def buttons(message: dict[str, Any]) -> dict[str, str]:
    return {e["action_id"]: e["text"]["text"] for b in message["blocks"] if b["type"] == "actions"
            for e in b["elements"]}


def test_the_questionnaire_modal_classifies_sets_the_tier_and_the_card_shows_why(slack: Slack):
    recorded = slack.command(f"new CV screening {TEAM_OWNERS} risk=low")
    assert buttons(recorded)[ids.CLASSIFY] == "Classify"  # offered right where it was recorded
    card = slack.command("show AI-1")
    assert "not classified" in str(card["blocks"]) and ids.CLASSIFY in buttons(card)
    _, unclassified = html.unescape(slack.command("digest")["text"]).split("Not classified yet (1) — ")
    assert unclassified.startswith("the EU AI Act screening sets their risk tier: /initiative classify <KEY>\n"
                                   "• AI-1 CV screening\n")  # the digest names it
    refused = slack.command("classify AI-1", user="UCARL", opens_modal=True)  # not an owner nor an admin
    assert "Only AI-1's owners or an admin can classify it." in refused["text"]

    assert slack.command("classify AI-1", opens_modal=True) == {}
    modal = slack.opened_modal()
    View(**modal).validate_json()  # within Block Kit's limits (100 blocks, label and option lengths)
    assert modal["callback_id"] == ids.CLASSIFY_MODAL and len(modal["blocks"]) <= 100
    assert "not legal advice" in str(modal["blocks"])
    assert "Annex III point 4" in str(modal["blocks"])

    missing = slack.submit(modal, radios(modal, annex3_employment="yes", gpai_provider=None), user="UMARIA")
    assert missing == {"response_action": "errors",
                       "errors": {ids.question_block_id("gpai-provider"): "answer this question"}}
    assert stored(slack)[0].classified_tier is None  # nothing until every question is answered

    answer = slack.submit(modal, radios(modal, annex3_employment="yes"), user="UMARIA")

    result = str(answer["view"]["blocks"])
    assert answer["response_action"] == "update" and "is classified *high*" in result
    assert "Annex III point 4" in result and "Its risk tier is now *high*" in result
    assert "2026-08-02" in result  # when the obligations apply, from the file
    initiative, [row], actions = stored(slack)
    assert (initiative.risk_tier, initiative.classified_tier) == ("high", "high")
    assert (row.derived_tier, row.questionnaire_version, row.decided_by) == ("high", 1, "UMARIA")
    assert row.answers["annex3-employment"] == "yes"
    assert actions[-1] == "initiative.classified"
    assert "high, questionnaire v1, by <@UMARIA>" in str(slack.command("show AI-1")["blocks"])
    assert "Not classified yet" not in slack.command("digest")["text"]
    controls = slack.command("compliance AI-1")  # the default gates name no control yet: all open
    assert controls["text"] == "Compliance of AI-1: 33 open."
    assert "*EU-AI-ACT:Art.14* Designed so that people can oversee it and step in" in str(controls["blocks"])
    assert "not reviewed by counsel" in str(controls["blocks"]) and len(controls["blocks"]) <= 50

    # The tier it set is overridden only by the compliance owner, with a reason.
    refused = slack.command("classify AI-1 override medium", user="UMARIA")
    assert "Please give a reason" in refused["text"]
    assert "compliance owner" in slack.command("classify AI-1 override medium only internal use",
                                               user="UMARIA")["text"]
    slack.command("owners AI-1 compliance=<@UOTTO|otto>")
    done = slack.command("classify AI-1 override medium only used on internal test data", user="UOTTO")
    assert "risk tier is now *medium*" in done["text"] and "<@UOTTO>" in done["text"]
    initiative, rows, actions = stored(slack)
    assert initiative.risk_tier == "medium" and rows[-1].kind == "override"
    assert actions[-1] == "initiative.risk_tier_overridden"
    history = slack.command("history AI-1")["text"]
    assert "as compliance owner, overrode AI-1's risk tier: high → medium" in history
    with slack.runtime.transaction() as session:
        record = render_markdown(build_decision_record(load_snapshot(
            session, audience=Audience.person(team_id=initiative.team_id, user_id="UMARIA"), key="AI-1")))
    assert "classified **high** with questionnaire version 1; risk tier set to high" in record
    assert "(Annex III point 4)" in record and "signed off by the compliance owner: only used on internal" in record


def test_a_prohibited_result_from_the_card_button_blocks_the_gates_and_tells_the_admins(slack: Slack):
    slack.command(f"new Staff mood tracker {TEAM_OWNERS}")
    assert "Review of *AI-1*" in slack.command("submit AI-1")["text"]
    slack.deliver()

    slack.click(ids.CLASSIFY, "AI-1", user="UMARIA")
    modal = slack.opened_modal()
    answer = slack.submit(modal, radios(modal, art5_biometric="yes"), user="UMARIA")
    slack.deliver()

    assert "is classified *prohibited*" in str(answer["view"]["blocks"])
    with slack.runtime.transaction() as session:
        assert session.exec(select(GateReview)).one().state == "cancelled"
    assert "classified prohibited" in slack.command("submit AI-1")["text"]
    [alert] = [m for m in slack.dms_to("UADMIN") if "classified prohibited" in m["text"]]
    assert "Art. 5(1)(e) to (h)" in str(alert["blocks"])
    assert not [m for m in slack.dms_to("UDEV") if "classified prohibited" in m["text"]]  # admins only

    # Classified again, the modal starts from the standing answers.
    slack.command("classify AI-1", opens_modal=True)
    again = slack.opened_modal()
    chosen = next(b for b in again["blocks"] if b.get("block_id") == ids.question_block_id("art5-biometric"))
    assert chosen["element"]["initial_option"]["value"] == "yes"


    # Recorded from the New initiative modal: its notice offers Classify, which opens the questions on top.
    slack.command("new", opens_modal=True)
    new = slack.opened_modal()
    notice = slack.submit(new, {"title": {ids.VALUE: {"type": "plain_text_input", "value": "Chatbot"}}},
                          user="UMARIA")["view"]
    [button] = [e for b in notice["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["value"]) == (ids.CLASSIFY, "AI-2")
    response = slack.app.interact(block_actions_payload(
        ids.CLASSIFY, "AI-2", user_id="UMARIA", trigger_id=slack.emulator.new_trigger_id(),
        view={"id": "VNOTICE", "type": "modal", "callback_id": ids.NOTICE_MODAL}))
    assert response.status_code == 200
    pushed = slack.opened_modal()
    assert pushed["callback_id"] == ids.CLASSIFY_MODAL and "AI-2" in str(pushed["blocks"])
    assert slack.emulator.calls[-1].method == "views.push"
