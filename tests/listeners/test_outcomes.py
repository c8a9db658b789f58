"""Hold, Recycle and Kill end to end: signed slash commands, clicks and modal submissions over real HTTP against
the Slack emulator, asserting on what reached Slack and the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from sqlmodel import select

from bot.adapters.outcomes import prompt_payload
from bot.services.access.visibility import Audience
from bot.services.outcomes import scheduled as outcomes_scheduled
from bot.services.reviews.decision_record import build_decision_record, load_snapshot, render_markdown
from bot.views import ids
from slack_emulator.requests import button
from storage.models import AuditEvent, GateReview, Initiative, InitiativeOutcome, SignOff
from tests.listeners.conftest import Slack
from tests.listeners.test_sign_off_round_trip import approve_from_dm, request_dm

send_revisit_prompts = partial(outcomes_scheduled.send_revisit_prompts, render=prompt_payload)

TEAM_OWNERS = "business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin>"
SPONSOR = "UCARL"


def start(slack: Slack, *, submit: bool = True) -> None:
    """AI-1 with three owners and Carl as its sponsor; its Pilot review open (the owners' DMs delivered)."""
    assert "Recorded *AI-1*" in slack.command(f"new Churn model {TEAM_OWNERS} risk=low")["text"]
    slack.command("owners AI-1 sponsor=<@UCARL|carl>")
    if submit:
        assert "Review of *AI-1*" in slack.command("submit AI-1")["text"]
    slack.deliver()


def initiative(slack: Slack) -> Initiative:
    with slack.runtime.transaction() as session:
        found = session.exec(select(Initiative)).one()
        session.expunge(found)
        return found


def news_to(slack: Slack, user: str, words: str) -> list[dict[str, Any]]:
    return [m for m in slack.dms_to(user) if words in m["text"]]


def digest_preview(slack: Slack) -> str:
    return slack.command("digest", user="UMARIA")["text"]


def values(**inputs: Any) -> dict[str, Any]:
    """Modal state: plain text for strings, a date picker's selection for dates."""
    return {block: {ids.VALUE: {"type": "datepicker", "selected_date": value.isoformat()} if isinstance(value, date)
                    else {"type": "plain_text_input", "value": value}} for block, value in inputs.items()}


# ---- Hold -------------------------------------------------------------------------------------------------------


def test_a_hold_cancels_the_review_tells_the_owners_and_asks_the_sponsor_once_on_the_revisit_date(slack: Slack):
    start(slack)
    revisit = datetime.now(UTC).date() + timedelta(days=10)

    answer = slack.command(f"hold AI-1 until {revisit} no budget this quarter", user=SPONSOR)
    slack.deliver()

    assert f"*AI-1* is on hold until {revisit:%a %d %b %Y}" in answer["text"]
    with slack.runtime.transaction() as session:
        assert session.exec(select(Initiative)).one().status == "held"
        assert session.exec(select(GateReview)).one().state == "cancelled"
        [held] = session.exec(select(InitiativeOutcome)).all()
        assert (held.kind, held.revisit_on, held.reason, held.decided_by) == (
            "hold", revisit, "no budget this quarter", SPONSOR)
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions[-2:] == ["review.cancelled", "initiative.held"]
    for owner in ("UMARIA", "UDEV", "UERIN"):
        [news] = news_to(slack, owner, "is on hold")
        assert "no budget this quarter" in str(news["blocks"]) and "<@UCARL>" in str(news["blocks"])
        assert not [b for b in request_dm(slack, owner)["blocks"] if b["type"] == "actions"]  # buttons gone
    assert news_to(slack, SPONSOR, "is on hold") == []  # who decided is not told what they did

    the_day_before = datetime.combine(revisit - timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=12)
    assert send_revisit_prompts(slack.runtime, now=the_day_before) == 0
    at_nine = datetime.combine(revisit, datetime.min.time(), UTC) + timedelta(hours=9, minutes=1)
    assert send_revisit_prompts(slack.runtime, now=at_nine) == 1
    assert send_revisit_prompts(slack.runtime, now=at_nine + timedelta(hours=1)) == 0  # once per date
    slack.deliver()
    [prompt] = [m for m in slack.dms_to(SPONSOR) if "hold ends today" in m["text"]]
    assert {b["text"]["text"] for b in next(b for b in prompt["blocks"] if b["type"] == "actions")["elements"]} == {
        "Resume", "Extend hold", "Kill"}
    assert "no budget this quarter" in str(prompt["blocks"])

    # Extend: the modal's date moves the revisit date, and the sponsor is asked again on the new one.
    later = revisit + timedelta(days=30)
    slack.click(ids.HOLD_EXTEND, button(prompt, ids.HOLD_EXTEND)["value"], user=SPONSOR, message=prompt,
                channel=prompt["channel"])
    modal = slack.opened_modal()
    assert modal["callback_id"] == ids.EXTEND_HOLD_MODAL
    answer = slack.submit(modal, values(revisit_on=later, reason="budget review moved"), user=SPONSOR)
    assert answer["response_action"] == "update" and "extended" in str(answer["view"]["blocks"])
    with slack.runtime.transaction() as session:
        assert session.exec(select(InitiativeOutcome)).one().revisit_on == later
        extended = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (extended.action, extended.actor, extended.after) == (
            "initiative.hold_extended", SPONSOR, {"revisit_on": later.isoformat(), "reason": "budget review moved"})
    slack.deliver()
    [answered] = [m for m in slack.dms_to(SPONSOR) if m["ts"] == prompt["ts"]]  # the prompt, updated in place
    assert [b["type"] for b in answered["blocks"]] == ["section"]  # its buttons are gone
    assert answered["blocks"][0]["text"]["text"] == (
        f"The hold of *AI-1* Churn model was extended to {later:%a %d %b %Y} by <@UCARL>. You will be asked again "
        "then.")
    assert send_revisit_prompts(slack.runtime, now=at_nine + timedelta(days=2)) == 0
    assert send_revisit_prompts(slack.runtime, now=at_nine + timedelta(days=30)) == 1
    slack.deliver()
    [prompt] = [m for m in slack.dms_to(SPONSOR) if "hold ends today" in m["text"]]  # asked again

    # Resume from the prompt ends the hold.
    _, response_url = slack.click(ids.HOLD_RESUME, button(prompt, ids.HOLD_RESUME)["value"], user=SPONSOR,
                                  message=prompt, channel=prompt["channel"])
    assert slack.answer_at(response_url) == {"text": "AI-1 is active again: its hold was ended by <@UCARL>.",
                                             "replace_original": True}  # the prompt loses its buttons
    with slack.runtime.transaction() as session:
        assert session.exec(select(Initiative)).one().status == "active"
        assert session.exec(select(InitiativeOutcome)).one().ended_by == SPONSOR


def test_kill_on_the_revisit_prompt_opens_the_kill_modal_and_the_prompt_then_says_it_was_killed(slack: Slack):
    start(slack)
    revisit = datetime.now(UTC).date() + timedelta(days=5)
    slack.command(f"hold AI-1 until {revisit} no budget this quarter", user=SPONSOR)
    assert send_revisit_prompts(slack.runtime, now=datetime.combine(revisit, datetime.min.time(), UTC)
                                + timedelta(hours=10)) == 1
    slack.deliver()
    [prompt] = [m for m in slack.dms_to(SPONSOR) if "hold ends today" in m["text"]]

    slack.click(ids.HOLD_KILL, button(prompt, ids.HOLD_KILL)["value"], user=SPONSOR, message=prompt,
                channel=prompt["channel"])
    modal = slack.opened_modal()
    assert modal["callback_id"] == ids.KILL_MODAL
    assert initiative(slack).status == "held"  # nothing changes until the modal is submitted
    answer = slack.submit(modal, values(**{ids.RATIONALE_BLOCK: "The budget will not come back",
                                           ids.LESSONS_BLOCK: "Secure funding before the pilot"}), user=SPONSOR)
    assert answer["response_action"] == "update" and "AI-1 is killed" in str(answer["view"]["blocks"])
    slack.deliver()

    assert initiative(slack).status == "killed"
    with slack.runtime.transaction() as session:
        held, killed = session.exec(select(InitiativeOutcome).order_by(InitiativeOutcome.id)).all()
        assert (held.kind, held.ended_by) == ("hold", SPONSOR)
        assert (killed.kind, killed.reason, killed.lessons) == (
            "kill", "The budget will not come back", "Secure funding before the pilot")
    [answered] = [m for m in slack.dms_to(SPONSOR) if m["ts"] == prompt["ts"]]
    assert [b["type"] for b in answered["blocks"]] == ["section"]  # no buttons left to decide again
    assert answered["blocks"][0]["text"]["text"] == "*AI-1* Churn model was killed by <@UCARL>; its hold is over."
    for owner in ("UMARIA", "UDEV", "UERIN"):
        [news] = news_to(slack, owner, "is killed")
        assert "Secure funding before the pilot" in str(news["blocks"])


def test_a_past_revisit_date_is_in_the_digest_and_holds_and_pauses_are_counted_apart(slack: Slack):
    start(slack, submit=False)
    assert "Recorded *AI-2*" in slack.command(f"new Fraud rules {TEAM_OWNERS} risk=low")["text"]
    slack.command("pause AI-2 waiting for a data dump")
    revisit = datetime.now(UTC).date() + timedelta(days=1)
    slack.command(f"hold AI-1 until {revisit} no budget", user="UADMIN")

    assert ("On hold: 1 · Paused: 1. 1 initiative is on hold, not counted above: 1 in Idea. 1 paused initiative is "
            "not counted above: 1 in Idea.") in digest_preview(slack)
    assert "On hold past their revisit date" not in digest_preview(slack)
    with slack.runtime.transaction() as session:  # as if the revisit date had passed without a decision
        session.exec(select(InitiativeOutcome)).one().revisit_on = revisit - timedelta(days=3)
    preview = digest_preview(slack)
    assert "On hold past their revisit date (1)" in preview
    assert f"AI-1 Churn model — in Idea, revisit was due {revisit - timedelta(days=3)}: no budget" in preview


def test_only_the_sponsor_or_an_admin_holds_or_ends_a_hold_and_bad_dates_are_explained(slack: Slack):
    start(slack)
    revisit = datetime.now(UTC).date() + timedelta(days=10)

    refused = slack.command(f"hold AI-1 until {revisit} no budget", user="UMARIA")
    assert "Only AI-1's sponsor or an admin can put it on hold." in refused["text"]
    assert "is not a date" in slack.command("hold AI-1 until soon no budget", user=SPONSOR)["text"]
    past = slack.command(f"hold AI-1 until {revisit - timedelta(days=20)} no budget", user=SPONSOR)
    assert "is not in the future" in past["text"]
    assert "`/initiative hold AI-12 until" in slack.command("hold AI-1 no budget", user=SPONSOR)["text"]
    with slack.runtime.transaction() as session:
        assert session.exec(select(Initiative)).one().status == "active"
        assert session.exec(select(GateReview)).one().state == "open"

    slack.command(f"hold AI-1 until {revisit} no budget", user="UADMIN")
    assert f"on hold until {revisit:%a %d %b %Y}: no budget" in str(slack.command("show AI-1")["blocks"])
    assert "Only AI-1's sponsor or an admin can end its hold." in slack.command("resume AI-1", user="UDEV")["text"]
    assert "AI-1* is active again" in slack.command("resume AI-1", user=SPONSOR)["text"]


# ---- Recycle ----------------------------------------------------------------------------------------------------


def pass_pilot_gate(slack: Slack) -> None:
    start(slack)
    for owner in ("UDEV", "UERIN", "UMARIA"):
        assert approve_from_dm(slack, owner) == {}
    slack.deliver()
    assert initiative(slack).stage == "pilot"


def test_a_recycle_goes_back_a_stage_tells_the_owners_and_counts_as_a_recycle_in_the_funnel(slack: Slack):
    pass_pilot_gate(slack)
    assert "Review of *AI-1*" in slack.command("submit AI-1")["text"]  # the Production review is open

    answer = slack.command("recycle AI-1 to idea the data profiling must be redone on 2026 data", user="UDEV")
    slack.deliver()

    assert "*AI-1* is back in Idea" in answer["text"]
    with slack.runtime.transaction() as session:
        assert session.exec(select(Initiative)).one().stage == "idea"
        review = session.exec(select(GateReview).where(GateReview.to_stage == "production")).one()
        assert review.state == "cancelled"
        recycled = session.exec(select(AuditEvent).where(AuditEvent.action == "initiative.recycled")).one()
        assert recycled.after == {"stage": "idea", "reason": "the data profiling must be redone on 2026 data"}
    history = str(slack.command("history AI-1")["blocks"])  # the timeline
    assert "<@UDEV> recycled AI-1 from Pilot to Idea on" in history
    assert "“the data profiling must be redone on 2026 data”" in history
    for owner in ("UMARIA", "UERIN"):
        assert news_to(slack, owner, "is recycled"), slack.dms_to(owner)

    preview = digest_preview(slack)
    assert "Recycled (1)" in preview and "New (1)" in preview  # its creation, not the recycle
    assert "AI-1 Churn model — Pilot → Idea: the data profiling must be redone on 2026 data" in preview
    idea_line = next(line for line in preview.splitlines() if line.strip().startswith("Idea:"))
    assert idea_line.split()[1:] == ["1", "(+1),", "1", "recycled"]


def test_who_may_recycle_and_to_where(slack: Slack):
    pass_pilot_gate(slack)

    refused = slack.command("recycle AI-1 to idea redo it", user="UOTTO")
    assert "Only AI-1's sponsor, an admin, or an owner who signs its current gate can recycle it." in refused["text"]
    later = slack.command("recycle AI-1 to production redo it", user=SPONSOR)
    assert "Production is not before Pilot; recycle AI-1 to an earlier stage (idea)." in later["text"]
    assert "`/initiative recycle AI-12 to pilot" in slack.command("recycle AI-1 idea", user=SPONSOR)["text"]
    assert initiative(slack).stage == "pilot"
    assert "*AI-1* is back in Idea" in slack.command("recycle AI-1 to idea redo it", user=SPONSOR)["text"]


# ---- Kill -------------------------------------------------------------------------------------------------------


def test_a_kill_opens_a_modal_changes_nothing_until_submitted_then_keeps_its_record(slack: Slack):
    start(slack)

    assert slack.command("kill AI-1 No budget after the reorganisation", user=SPONSOR, opens_modal=True) == {}
    modal = slack.opened_modal()
    assert modal["callback_id"] == ids.KILL_MODAL
    prefilled = next(b for b in modal["blocks"] if b.get("block_id") == ids.RATIONALE_BLOCK)
    assert prefilled["element"]["initial_value"] == "No budget after the reorganisation"
    assert initiative(slack).status == "active"  # nothing yet

    blank = slack.submit(modal, values(rationale=" ", lessons=""), user=SPONSOR)
    assert blank == {"response_action": "errors", "errors": {
        ids.RATIONALE_BLOCK: "Say why it is killed: the rationale stays in its decision record."}}
    answer = slack.submit(modal, values(rationale="No budget after the reorganisation",
                                        lessons="Label quality decides more than the model"), user=SPONSOR)
    slack.deliver()

    assert answer["response_action"] == "update" and "AI-1 is killed" in str(answer["view"]["blocks"])
    team_id = initiative(slack).team_id
    with slack.runtime.transaction() as session:
        assert session.exec(select(Initiative)).one().status == "killed"
        assert session.exec(select(GateReview)).one().state == "cancelled"
        assert {s.state for s in session.exec(select(SignOff))} == {"cancelled"}
        record = build_decision_record(load_snapshot(session, audience=Audience.workspace(team_id=team_id), key="AI-1"))
    assert record.status == "killed"
    [killed] = record.outcomes
    assert (killed.kind, killed.reason, killed.lessons, killed.decided_by) == (
        "kill", "No budget after the reorganisation", "Label quality decides more than the model", SPONSOR)
    assert ("killed in Idea: No budget after the reorganisation. What we learned: Label quality decides more than "
            "the model") in render_markdown(record)
    for owner in ("UMARIA", "UDEV", "UERIN"):
        [news] = news_to(slack, owner, "is killed")
        assert "Label quality decides more than the model" in str(news["blocks"])
    preview = digest_preview(slack)
    assert ("AI-1 Churn model — in Idea: No budget after the reorganisation — learned: Label quality decides more "
            "than the model") in preview
    assert "Killed (1)" in preview
    assert "killed: No budget after the reorganisation" in str(slack.command("show AI-1")["blocks"])
    # Killing is not deleting: still listed with everything, its history kept.
    assert "AI-1" in slack.command("list all")["text"] and "AI-1" not in slack.command("list")["text"]
    history = str(slack.command("history AI-1")["blocks"])
    assert ("<@UCARL> killed AI-1 (what we learned: “Label quality decides more than the model”) on" in history
            and "“No budget after the reorganisation”" in history)


def test_only_the_sponsor_or_an_admin_may_kill_and_retire_stays_for_merges(slack: Slack):
    start(slack)

    refused = slack.command("kill AI-1 pointless", user="UMARIA", opens_modal=True)
    assert "Only AI-1's sponsor or an admin can kill it." in refused["text"]
    assert not [c for c in slack.emulator.calls_to("views.open")]
    help_text = "\n".join(block["text"]["text"] for block in slack.command("help")["blocks"])
    assert "/initiative retire &lt;KEY&gt; &lt;reason&gt;   -&gt; admins: for merges and duplicates" in help_text
    assert slack.command("retire AI-1 no longer needed", user=SPONSOR)["text"].endswith(
        "Only an admin can retire an initiative, which is for merges and duplicates; to stop one, its sponsor or an "
        "admin kills it: `/initiative kill AI-1`.")

    slack.command("kill AI-1", user="UADMIN", opens_modal=True)
    modal = slack.opened_modal()
    slack.submit(modal, values(rationale="Duplicate effort", lessons=""), user="UADMIN")
    assert "AI-1 is already killed." in slack.command("kill AI-1", user="UADMIN", opens_modal=True)["text"]
