"""Waivers that expire, and the target date of the next gate, end to end: signed clicks and modal submissions over
real HTTP against the Slack emulator, the expiry job called with a given "now", asserting on what reached Slack and
on the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from sqlmodel import select

from bot.adapters.waivers import warning_payload
from bot.services.business_days import is_business_day, local_date, nth_business_day_after
from bot.services.waivers import scheduled as waivers_scheduled
from bot.services.waivers.scheduled import expire_waivers
from bot.views import ids
from slack_emulator.requests import ticked_all
from storage.models import AuditEvent, ChecklistWaiver, GateReview, SignOff
from storage.types import utcnow
from tests.listeners.conftest import Slack
from tests.listeners.test_modal_input import checklist_modal
from tests.listeners.test_sign_off_round_trip import approve_from_dm, open_review

send_expiry_warnings = partial(waivers_scheduled.send_expiry_warnings, render=warning_payload)


def block(modal: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in modal["blocks"] if b.get("block_id") == block_id)


def waiving_all(modal: dict[str, Any], reason: str, *, until: date | None = None,
                target: date | None = None) -> dict[str, Any]:
    """Every item of the modal waived with `reason`, and the dates picked (Slack sends a picked date as is)."""
    options = block(modal, ids.WAIVE_BLOCK)["element"]["options"]
    values: dict[str, Any] = {
        ids.WAIVE_BLOCK: {ids.VALUE: {"type": "multi_static_select", "selected_options": options}},
        ids.WAIVE_REASON_BLOCK: {ids.VALUE: {"type": "plain_text_input", "value": reason}},
    }
    for block_id, picked in ((ids.WAIVERS_EXPIRE_BLOCK, until), (ids.TARGET_BLOCK, target)):
        if picked:
            values[block_id] = {ids.VALUE: {"type": "datepicker", "selected_date": picked.isoformat()}}
    return values


def today(slack: Slack) -> date:
    return local_date(utcnow(), slack.runtime.settings.default_zone)


def business_day_at_least(day: date) -> date:
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def at(day: date, hour: int, slack: Slack) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=slack.runtime.settings.default_zone)


def test_a_waiver_has_a_reason_and_an_expiry_and_whoever_waived_it_is_told_once_5_business_days_before(
        slack: Slack) -> None:
    open_review(slack)
    modal = checklist_modal(slack, "UDEV")
    # The modal offers the gate's default expiry (30 business days) and the next gate's target (Pilot's 60).
    picker = block(modal, ids.WAIVERS_EXPIRE_BLOCK)
    assert picker["label"]["text"] == "Waivers expire on"
    assert picker["element"]["initial_date"] == nth_business_day_after(today(slack), 30).isoformat()
    target_picker = block(modal, ids.TARGET_BLOCK)
    assert target_picker["label"]["text"] == "Target date for Production readiness"
    assert target_picker["element"]["initial_date"] == nth_business_day_after(today(slack), 60).isoformat()

    # A reason is required, and an expiry in the past is refused under its picker: nothing is decided.
    refused = slack.submit(modal, waiving_all(modal, ""), user="UDEV")
    assert refused["response_action"] == "errors" and ids.WAIVE_REASON_BLOCK in refused["errors"]
    refused = slack.submit(modal, waiving_all(modal, "no personal data", until=today(slack)), user="UDEV")
    assert refused == {"response_action": "errors", "errors": {
        ids.WAIVERS_EXPIRE_BLOCK: f"A waiver must last beyond today; pick an expiry date after {today(slack)}."}}
    with slack.runtime.transaction() as session:
        assert {s.role: s.state for s in session.exec(select(SignOff))}["data"] == "pending"

    expires = business_day_at_least(today(slack) + timedelta(days=40))
    target = today(slack) + timedelta(days=45)
    assert slack.submit(modal, waiving_all(modal, "no personal data in the pilot", until=expires, target=target),
                        user="UDEV") == {}
    for owner in ("UMARIA", "UERIN"):
        assert approve_from_dm(slack, owner) == {}
    with slack.runtime.transaction() as session:
        waivers = session.exec(select(ChecklistWaiver).order_by(ChecklistWaiver.id)).all()
        assert [(w.role, w.item_id, w.reason, w.waived_by, w.expires_on) for w in waivers] == [
            ("data", item, "no personal data in the pilot", "UDEV", expires)
            for item in ("sources-accessible", "sources-governed", "quality-profiled")]
        # The review keeps the earliest target its approvers set: Dev's, before the others' default.
        review = session.exec(select(GateReview)).one()
        assert (review.state, review.next_target_on) == ("passed", target)
        decided = session.exec(select(AuditEvent).where(AuditEvent.action == "gate.decided")).one()
        assert decided.after == {"outcome": "go", "target_on": target.isoformat()}
        approved = session.exec(select(AuditEvent).where(AuditEvent.action == "signoff.approved",
                                                         AuditEvent.actor == "UDEV")).one()
        assert approved.after["waivers_expire_on"] == expires.isoformat()

    # Told on the 5th business day before the expiry, in working hours, once; not a day earlier.
    warn_on = expires
    for _ in range(5):
        warn_on -= timedelta(days=1)
        while not is_business_day(warn_on):
            warn_on -= timedelta(days=1)
    assert send_expiry_warnings(slack.runtime, now=at(warn_on - timedelta(days=1), 11, slack)) == 0
    assert send_expiry_warnings(slack.runtime, now=at(warn_on, 7, slack)) == 0  # before the working day
    assert send_expiry_warnings(slack.runtime, now=at(warn_on, 10, slack)) == 1
    assert send_expiry_warnings(slack.runtime, now=at(warn_on, 11, slack)) == 0
    slack.deliver()
    [warning] = [m for m in slack.dms_to("UDEV") if "expire soon" in m["text"]]
    shown = str(warning["blocks"])
    assert "3 checklist items you waived expire soon" in shown and "Data sources identified" in shown
    assert f"waived until *{expires:%a %d %b %Y}*" in shown and "no personal data in the pilot" in shown
    assert warning["text"].startswith("3 waivers you gave expire soon (AI-1)")
    assert not [m for m in slack.dms_to("UMARIA") if "expire soon" in m["text"]]


def test_show_and_the_digest_tell_the_target_date_of_the_next_gate(slack: Slack) -> None:
    open_review(slack)
    target = today(slack) + timedelta(days=20)
    modal = checklist_modal(slack, "UDEV")
    assert slack.submit(modal, ticked_all(modal) | {ids.TARGET_BLOCK: {ids.VALUE: {
        "type": "datepicker", "selected_date": target.isoformat()}}}, user="UDEV") == {}
    for owner in ("UMARIA", "UERIN"):
        assert approve_from_dm(slack, owner) == {}

    card = str(slack.command("show AI-1", user="UERIN")["blocks"])
    assert f"*Next gate by*\\n{target:%a %d %b %Y}" in card and "(passed)" not in card
    assert "Past their next gate's target date" not in slack.command("digest")["text"]

    with slack.runtime.transaction() as session:  # as if the target date had passed with no review
        session.exec(select(GateReview)).one().next_target_on = today(slack) - timedelta(days=2)
    passed = today(slack) - timedelta(days=2)
    assert f"*Next gate by*\\n{passed:%a %d %b %Y} (passed)" in str(slack.command("show AI-1")["blocks"])
    digest = slack.command("digest")["text"]
    assert "Past their next gate's target date (1)" in digest
    assert f"AI-1 Churn model — in Pilot, the next gate was due by {passed.isoformat()}" in digest


def waiving_one(modal: dict[str, Any], item_id: str, reason: str, *, until: date) -> dict[str, Any]:
    """Every item ticked but `item_id`, waived with `reason` until `until`."""
    values = ticked_all(modal)
    for state in values.values():
        for action in state.values():
            action["selected_options"] = [o for o in action["selected_options"] if o["value"] != item_id]
    [option] = [o for o in block(modal, ids.WAIVE_BLOCK)["element"]["options"] if o["value"] == item_id]
    return values | {
        ids.WAIVE_BLOCK: {ids.VALUE: {"type": "multi_static_select", "selected_options": [option]}},
        ids.WAIVE_REASON_BLOCK: {ids.VALUE: {"type": "plain_text_input", "value": reason}},
        ids.WAIVERS_EXPIRE_BLOCK: {ids.VALUE: {"type": "datepicker", "selected_date": until.isoformat()}},
    }


def test_a_waiver_that_expires_becomes_a_tracked_item_that_blocks_the_next_review_until_met_or_waived_again(
        slack: Slack) -> None:
    open_review(slack)
    expires = business_day_at_least(today(slack) + timedelta(days=30))
    modal = checklist_modal(slack, "UDEV")
    assert slack.submit(modal, waiving_one(modal, "sources-governed", "governance board meets next month",
                                           until=expires), user="UDEV") == {}
    for owner in ("UMARIA", "UERIN"):
        assert approve_from_dm(slack, owner) == {}
    slack.deliver()

    assert expire_waivers(slack.runtime, now=at(expires, 0, slack) - timedelta(minutes=1)) == 0
    assert expire_waivers(slack.runtime, now=at(expires, 0, slack) + timedelta(minutes=1)) == 1
    assert expire_waivers(slack.runtime, now=at(expires, 9, slack)) == 0  # once
    slack.deliver()
    [news] = [m for m in slack.dms_to("UDEV") if "waiver you gave expired" in str(m["blocks"])]
    assert "*AI-1-W1*" in str(news["blocks"]) and "Data use approved by its governance owner" in str(news["blocks"])
    assert news["text"].startswith("Your waiver expired: AI-1-W1 of AI-1 is yours to meet")
    with slack.runtime.transaction() as session:
        [expired] = session.exec(select(AuditEvent).where(AuditEvent.action == "waiver.expired")).all()
        assert (expired.subject_key, expired.actor, expired.after["owner"], expired.after["due_on"]) == (
            "AI-1-W1", "system", "UDEV", expires.isoformat())

    # show and the digest list it; the next review is refused, naming it.
    assert "AI-1-W1" in str(slack.command("show AI-1", user="UMARIA")["blocks"])
    digest = slack.command("digest")["text"]
    assert "Expired waivers (1)" in digest and "AI-1-W1 Data use approved by its governance owner" in digest
    refused = slack.command("submit AI-1")["text"]
    assert "AI-1's next review waits for its open conditions and expired waivers: AI-1-W1" in refused
    history = str(slack.command("history AI-1")["blocks"])
    assert f"approved Pilot approval as Data owner, waiving 1 checklist item until {expires}" in history
    assert "Pilot approval decided Go for AI-1" in history
    assert "A waiver given by <@UDEV> expired: AI-1-W1 is now <@UDEV>'s to meet or waive again" in history

    # Waived again (by whoever waived it), until a later date: the review may go on...
    again = expires + timedelta(days=20)
    answer = slack.command(f"condition waive AI-1-W1 until {again} the board moved its meeting", user="UDEV")
    assert answer["text"].startswith(f"*AI-1-W1* is waived again until {again:%a %d %b %Y}")
    with slack.runtime.transaction() as session:
        waiver = session.exec(select(ChecklistWaiver)).one()
        assert (waiver.expires_on, waiver.reason, waiver.expired_at) == (again, "the board moved its meeting", None)
    # ...until the new date comes: tracked again, as AI-1-W2, then met with evidence.
    assert expire_waivers(slack.runtime, now=at(again, 8, slack)) == 1
    assert "AI-1-W2" in slack.command("submit AI-1")["text"]
    assert "is not a condition's id" in slack.command("condition met AI-1-X2 done")["text"]
    met = slack.command("condition met AI-1-W2 https://wiki.example.com/governance-approval", user="UDEV")
    assert "AI-1-W2" in met["text"] and "is met" in met["text"]
    assert "Review of *AI-1*" in slack.command("submit AI-1")["text"]
