"""A Conditional Go end to end: a sign-off approved with conditions (rich text, a real mention) over signed HTTP,
the gate passing with tracked conditions, the owner nudged, the sponsor and admins escalated to once overdue,
and the condition met; plus listing, cancelling, reassigning, a recycle and `conditions_block_next_gate`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import select

from bot.adapters.nudges import run_sweep
from bot.cli.nudge import describe
from bot.services.access.people import record_profile
from bot.services.access.visibility import Audience
from bot.services.gates.workspaces import latest_definition
from bot.services.reviews.decision_record import build_decision_record, load_snapshot, render_markdown
from bot.views import ids
from slack_emulator.requests import TEAM_ID, button, ticked_all
from storage.models import AuditEvent, GateDefinitionVersion, Initiative, SignOff, TrackedItem
from tests.listeners.conftest import Slack
from tests.listeners.test_home import first_section
from tests.listeners.test_sign_off_round_trip import approve_from_dm, request_dm

OWNERS = "business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin>"
SPONSOR = "UCARL"


def start(slack: Slack) -> None:
    assert "Recorded *AI-1*" in slack.command(f"new Churn model {OWNERS} risk=low")["text"]
    slack.command("owners AI-1 sponsor=<@UCARL|carl>")
    assert "Review of *AI-1*" in slack.command("submit AI-1")["text"]
    slack.deliver()


def rich_text(*lines: list[dict[str, Any]]) -> dict[str, Any]:
    """A rich_text_input's state as Slack sends it: one section, the lines joined by newlines."""
    elements: list[dict[str, Any]] = []
    for number, line in enumerate(lines):
        if number:
            elements.append({"type": "text", "text": "\n"})
        elements += line
    return {ids.CONDITIONS_BLOCK: {ids.VALUE: {"type": "rich_text_input", "rich_text_value": {
        "type": "rich_text", "elements": [{"type": "rich_text_section", "elements": elements}]}}}}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def user(user_id: str) -> dict[str, Any]:
    return {"type": "user", "user_id": user_id}


def approve_with_conditions(slack: Slack, who: str, conditions: dict[str, Any]) -> dict[str, Any]:
    dm = request_dm(slack, who)
    slack.click(ids.APPROVE_WITH_CONDITIONS, button(dm, ids.APPROVE_WITH_CONDITIONS)["value"], user=who,
                message=dm, channel=dm["channel"])
    modal = slack.opened_modal()
    assert modal["title"]["text"] == "Approve with conditions"
    [field] = [b for b in modal["blocks"] if b.get("block_id") == ids.CONDITIONS_BLOCK]
    assert (field["label"]["text"], field["element"]["type"]) == ("Conditions", "rich_text_input")
    return slack.submit(modal, {**ticked_all(modal), **conditions}, user=who)


def last_home(slack: Slack, user_id: str) -> dict[str, Any]:
    return [c.params["view"] for c in slack.emulator.calls_to("views.publish") if c.params["user_id"] == user_id][-1]


def a_wednesday_after(days: int) -> date:
    day = datetime.now(UTC).date() + timedelta(days=days)
    return day + timedelta(days=(2 - day.weekday()) % 7)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=hour)


def items(slack: Slack) -> list[TrackedItem]:
    with slack.runtime.transaction() as session:
        found = list(session.exec(select(TrackedItem).order_by(TrackedItem.id)))
        for item in found:
            session.expunge(item)
        return found


def actions(slack: Slack, prefix: str) -> list[AuditEvent]:
    with slack.runtime.transaction() as session:
        found = list(session.exec(select(AuditEvent).where(AuditEvent.action.startswith(prefix))
                                  .order_by(AuditEvent.id)))
        for event in found:
            session.expunge(event)
        return found


def nudges_to(slack: Slack, who: str, words: str) -> list[dict[str, Any]]:
    return [m for m in slack.dms_to(who) if words in m["text"]]


def test_a_conditional_go_whose_condition_is_nudged_then_escalated_then_met(slack: Slack):
    start(slack)
    due = a_wednesday_after(3)  # before the other condition's default date, 10 business days away

    # A line that cannot be read is shown under the field, and nothing is saved.
    refused = approve_with_conditions(slack, "UDEV", rich_text([text("Retraining pipeline @erin by 2027-02-30")]))
    assert refused["response_action"] == "errors"
    assert "is not a date" in refused["errors"][ids.CONDITIONS_BLOCK]
    refused = approve_with_conditions(slack, "UDEV", rich_text([text("Retraining pipeline @erin")]))
    assert "is not a Slack mention" in refused["errors"][ids.CONDITIONS_BLOCK]
    with slack.runtime.transaction() as session:
        assert {s.state for s in session.exec(select(SignOff))} == {"pending"}

    assert approve_with_conditions(slack, "UDEV", rich_text(
        [text("Retraining pipeline in place "), user("UERIN"), text(f" by {due.isoformat()}")],
        [text("DPIA signed before rollout beyond 5% of traffic")],
    )) == {}
    assert items(slack) == []  # tracked only once the gate passes
    slack.deliver()
    settled = str(request_dm(slack, "UDEV")["blocks"])  # the DM, updated, says what was set
    assert "Approved with conditions by <@UDEV>" in settled
    assert "• Retraining pipeline in place — <@UERIN>, by " in settled
    assert approve_from_dm(slack, "UERIN") == {}
    assert approve_from_dm(slack, "UMARIA") == {}
    slack.deliver()

    with slack.runtime.transaction() as session:
        assert session.exec(select(Initiative)).one().stage == "pilot"  # a Conditional Go advances
    first, second = items(slack)
    assert (first.number, first.owner, first.due_on, first.state, first.gate_slug) == (
        1, "UERIN", due, "open", "idea-to-pilot")
    assert (second.number, second.owner, second.text) == (2, "UDEV", "DPIA signed before rollout beyond 5% of traffic")
    assert second.due_on > datetime.now(UTC).date() + timedelta(days=13)  # 10 business days, the gate's default
    [passed] = actions(slack, "gate.passed")
    assert passed.after["outcome"] == "conditional_go"
    assert [e.subject_key for e in actions(slack, "condition.created")] == ["AI-1-C1", "AI-1-C2"]
    [told] = nudges_to(slack, "UERIN", "Condition AI-1-C1")
    assert f"is yours to meet by {due:%a %d %b %Y}" in told["text"]
    shown = slack.command("show AI-1", user=SPONSOR)
    assert "AI-1-C1" in str(shown["blocks"]) and "Retraining pipeline in place" in str(shown["blocks"])
    assert "Waiting on <@UDEV> (1), <@UERIN> (1)" in str(shown["blocks"])
    home = last_home(slack, "UERIN")
    assert "Waiting on me" in str(home) and "*AI-1-C1* Retraining pipeline in place" in str(home)

    # The day before it is due, its owner is nudged (in working hours); nobody is escalated to yet.
    dry_run = describe(run_sweep(slack.runtime, now=at(due - timedelta(days=1), 10), send=False), sent=False)
    assert any(line.strip().startswith("AI-1-C1 Pilot approval · condition (UERIN)") and "reminder due" in line
               for line in dry_run), dry_run
    run_sweep(slack.runtime, now=at(due - timedelta(days=1), 10))
    slack.deliver()
    [nudge] = nudges_to(slack, "UERIN", "Reminder:")
    assert "AI-1-C1" in str(nudge["blocks"]) and "Conditions to meet" in str(nudge["blocks"])
    assert nudges_to(slack, SPONSOR, "past their date") == []

    # The day after, it is overdue: recorded once, and the sponsor and the admins are told.
    run_sweep(slack.runtime, now=at(due + timedelta(days=1), 10))
    run_sweep(slack.runtime, now=at(due + timedelta(days=1), 11))
    slack.deliver()
    assert [e.subject_key for e in actions(slack, "condition.overdue")] == ["AI-1-C1"]
    for boss in (SPONSOR, "UADMIN"):
        [escalation] = nudges_to(slack, boss, "past their date")
        assert "AI-1-C1" in str(escalation["blocks"]) and "<@UERIN>" in str(escalation["blocks"])
    assert items(slack)[0].overdue_at == at(due + timedelta(days=1), 10)
    assert "Conditions  2 open · 0 overdue · 0 met this week" in slack.command("digest", user="UMARIA")["text"]

    # A link is an evidence link: the same rules refuse a private address. Then the owner closes it.
    refused = slack.command("condition met AI-1-C1 http://127.0.0.1/runbook", user="UERIN")
    assert "cannot be an evidence link" in refused["text"]
    assert "Only AI-1-C1's owner" in slack.command("condition met AI-1-C1 done", user="UMARIA")["text"]
    answer = slack.command("condition met AI-1-C1 pipeline retrains weekly in prod", user="UERIN")
    assert "*AI-1-C1* is met" in answer["text"]
    first = items(slack)[0]
    assert (first.state, first.closed_by, first.evidence) == ("met", "UERIN", "pipeline retrains weekly in prod")
    [met] = actions(slack, "condition.met")
    assert (met.actor, met.subject_key) == ("UERIN", "AI-1-C1")

    # Met: no more reminders or escalations about it.
    before = len(slack.dms_to(SPONSOR)), len(nudges_to(slack, "UERIN", "Reminder:"))
    run_sweep(slack.runtime, now=at(due + timedelta(days=5), 10))  # Monday: it would be escalated again
    slack.deliver()
    assert (len(slack.dms_to(SPONSOR)), len(nudges_to(slack, "UERIN", "Reminder:"))) == before
    assert "Conditions  1 open · 0 overdue · 1 met this week" in slack.command("digest", user="UMARIA")["text"]
    listed = slack.command("conditions mine", user="UDEV")["text"]
    assert "AI-1-C2" in listed and "AI-1-C1" not in listed

    with slack.runtime.transaction() as session:  # the decision record keeps the conditions and how they ended
        record = render_markdown(build_decision_record(load_snapshot(session, audience=Audience.workspace(
            team_id=slack.emulator.team_id), key="AI-1")))
    assert "passed with conditions (Conditional Go)" in record
    # Named as Slack named them when they became owners (users.info), with their ids.
    assert ("- AI-1-C1 (Pilot approval): Retraining pipeline in place, owned by erin (UERIN), due "
            f"{due.isoformat()}: met, by erin (UERIN) on ") in record
    assert "Evidence: pipeline retrains weekly in prod" in record
    assert "AI-1-C2 (Pilot approval): DPIA signed before rollout beyond 5% of traffic, owned by dev (UDEV)" in record


def test_cancel_reassign_a_blocking_gate_and_a_recycle(slack: Slack):
    start(slack)
    with slack.runtime.transaction() as session:  # the first gate's conditions block the next review
        document = dict(latest_definition(session, team_id=slack.emulator.team_id).definition)
        gates = [{**gate, "conditions_block_next_gate": gate["id"] == "idea-to-pilot"} for gate in document["gates"]]
        session.add(GateDefinitionVersion(team_id=slack.emulator.team_id, version=2,
                                          definition={**document, "gates": gates}, created_by="UADMIN"))
    approve_with_conditions(slack, "UDEV", rich_text([text("Model card published")], [text("Load test run")]))
    approve_from_dm(slack, "UERIN")
    approve_from_dm(slack, "UMARIA")

    refused = slack.command("submit AI-1")["text"]
    assert "next review waits for its open conditions: AI-1-C1 “Model card published” (<@UDEV>)" in refused
    assert "AI-1-C2" in refused

    assert "Only AI-1's sponsor or an admin can cancel AI-1-C1" in slack.command(
        "condition cancel AI-1-C1 not needed", user="UDEV")["text"]
    assert "Give a reason" in slack.command("condition cancel AI-1-C1", user=SPONSOR)["text"]
    assert "is cancelled" in slack.command("condition cancel AI-1-C1 the card lives in the wiki now",
                                           user=SPONSOR)["text"]
    assert "is now <@UERIN>'s" in slack.command("condition reassign AI-1-C2 <@UERIN|erin> Erin runs the load tests",
                                                user="UADMIN")["text"]
    slack.deliver()
    assert nudges_to(slack, "UERIN", "was given to you")
    waiting_on = {who: str(first_section(last_home(slack, who))) for who in ("UDEV", "UERIN")}
    assert "AI-1-C2" not in waiting_on["UDEV"] and "AI-1-C2" in waiting_on["UERIN"]
    # Dev owns AI-1: his desk says what blocks its next review, and on whom.
    assert "AI-1-C2 Load test run (<@UERIN>)" in str(last_home(slack, "UDEV"))
    assert [e.after.get("reason") for e in actions(slack, "condition.") if e.action != "condition.created"] == [
        "the card lives in the wiki now", "Erin runs the load tests"]

    # A recycle back over the gate cancels its open conditions, the recycle being the reason.
    assert "is back in Idea" in slack.command("recycle AI-1 to idea the pilot data was wrong", user=SPONSOR)["text"]
    assert [(i.state, i.close_reason) for i in items(slack)] == [
        ("cancelled", "the card lives in the wiki now"), ("cancelled", "recycled to Idea: the pilot data was wrong")]
    assert "Review of *AI-1*" in slack.command("submit AI-1")["text"]  # nothing blocks it any more


def test_a_written_date_must_be_tomorrow_or_later_on_the_signers_calendar(slack: Slack):
    # A zone whose date differs from UTC's right now (Kiritimati is UTC+14, Pago Pago UTC-11; 10:30 UTC is
    # half an hour from either edge).
    now = datetime.now(UTC)
    ahead = (now.hour, now.minute) >= (10, 30)
    with slack.runtime.transaction() as session:
        record_profile(session, team_id=TEAM_ID, user_id="UDEV", now=now,
                       tz="Pacific/Kiritimati" if ahead else "Pacific/Pago_Pago")
    start(slack)
    # Kiritimati: UTC's tomorrow is the signer's today, refused. Pago Pago: UTC's today is the signer's tomorrow.
    written = now.date() + timedelta(days=1) if ahead else now.date()
    answer = approve_with_conditions(slack, "UDEV", rich_text([text(f"Retraining pipeline by {written}")]))
    if ahead:
        assert f"{written} is not between tomorrow and two years from now" in answer["errors"][ids.CONDITIONS_BLOCK]
    else:
        assert answer == {}
        with slack.runtime.transaction() as session:
            [sign_off] = [s for s in session.exec(select(SignOff)) if s.state == "approved"]
            assert sign_off.conditions == [{"text": "Retraining pipeline", "owner": "UDEV",
                                            "due_on": written.isoformat()}]
