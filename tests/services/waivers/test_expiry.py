"""Waivers that expire, by the services: what a webhook receiver gets (`waiver.expired`, `gate.decided`), who may
waive an expired waiver again, and that a waiver in a review which never passed neither warns nor expires."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import jsonschema
import pytest
from sqlmodel import select

from bot.services.access.visibility import Audience
from bot.services.business_days import is_business_day
from bot.services.errors import InvalidInput, PermissionDenied
from bot.services.initiatives.service import create_initiative, get_initiative
from bot.services.reviews import service as reviews
from bot.services.tracked_items import service as tracked_items
from bot.services.waivers import scheduled
from bot.services.waivers.service import waive_again
from bot.services.webhooks.service import WebhookEvents, add_endpoint
from storage.models import ChecklistWaiver, GateReview, TrackedItem, WebhookDelivery
from storage.types import utcnow
from tests.support.factories import TEAM, actor

EVERYONE = Audience.workspace(team_id=TEAM)
OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG", "sponsor": "USPONSOR"}
SCHEMA = json.loads((Path(__file__).parents[3] / "docs" / "webhook-events.schema.json").read_text())


@pytest.fixture
def hooked(runtime):
    runtime.event_handlers.append(WebhookEvents())
    with runtime.transaction() as session:
        add_endpoint(session, actor=actor("UADMIN", admin=True), settings=runtime.settings,
                     url="https://hooks.example.com/initiatives", events=["gate.decided", "waiver.expired"])
    return runtime


def _decide(runtime, *, sent_back: bool = False) -> str:
    """AI-1's Pilot review: the data owner approves first, waiving "sources-governed"; then the others approve
    (the gate passes), or the business owner requests changes (`sent_back`)."""
    with runtime.transaction() as session:
        key = create_initiative(session, actor=actor("UBIZ"), title="Churn model", owners=OWNERS).key
        review = reviews.submit_for_next_gate(session, actor=actor("UBIZ"),
                                              initiative=get_initiative(session, audience=EVERYONE, key=key))
        sign_offs = reviews.sign_offs_of(session, review_id=review.id)
    for sign_off in sorted(sign_offs, key=lambda s: s.role != "data"):
        with runtime.transaction() as session:
            if sign_off.role == "business" and sent_back:
                reviews.request_changes(session, actor=actor("UBIZ"), sign_off_id=sign_off.id, reason="not yet")
                return key
            items = [i.id for i in reviews.checklist_of(session, sign_off, session.get(GateReview, review.id))]
            waived = {"sources-governed": "no personal data"} if sign_off.role == "data" else {}
            reviews.approve(session, actor=actor(sign_off.assignee), sign_off_id=sign_off.id,
                            ticked=[i for i in items if i not in waived], waivers=waived)
    return key


def _expiry(runtime) -> datetime:
    with runtime.transaction() as session:
        expires_on = session.exec(select(ChecklistWaiver)).one().expires_on
    return datetime.combine(expires_on, time(1), tzinfo=UTC)


def test_a_go_and_an_expired_waiver_reach_webhooks_in_the_documented_schema(hooked):
    _decide(hooked)
    assert scheduled.expire_waivers(hooked, now=_expiry(hooked)) == 1
    with hooked.transaction() as session:
        rows = session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        for row in rows:
            jsonschema.validate(row.payload, SCHEMA)
        sent = {row.event_type: row.payload["data"] for row in rows}
    assert (sent["gate.decided"]["outcome"], sent["gate.decided"]["gate"]) == ("go", "idea-to-pilot")
    waiver = sent["waiver.expired"]["waiver"]
    assert (waiver["id"], waiver["checklist_item"], waiver["owner"], waiver["state"]) == (
        "AI-1-W1", "sources-governed", "UDATA", "open")


def test_only_its_owner_the_sponsor_or_an_admin_waive_it_again_and_only_within_a_year(runtime):
    key = _decide(runtime)
    scheduled.expire_waivers(runtime, now=_expiry(runtime))
    today = utcnow().date()
    with runtime.transaction() as session:
        initiative, item = tracked_items.find_item(session, audience=EVERYONE, key=f"{key}-W1", for_update=True)
        with pytest.raises(PermissionDenied, match="owner, AI-1's sponsor or an admin"):
            waive_again(session, actor=actor("UBIZ"), initiative=initiative, item=item, reason="fine",
                        until=today + timedelta(days=10), today=today, now=utcnow())
        with pytest.raises(InvalidInput, match="at most a year"):
            waive_again(session, actor=actor("USPONSOR"), initiative=initiative, item=item, reason="fine",
                        until=today + timedelta(days=400), today=today, now=utcnow())
        waive_again(session, actor=actor("USPONSOR"), initiative=initiative, item=item, reason="board in March",
                    until=today + timedelta(days=60), today=today, now=utcnow())
    with runtime.transaction() as session:
        item = session.exec(select(TrackedItem)).one()
        waiver = session.exec(select(ChecklistWaiver)).one()
    assert (item.state, item.close_reason) == (
        "cancelled", f"waived again until {today + timedelta(days=60)}: board in March")
    assert (waiver.waived_by, waiver.reason, waiver.expired_at) == ("USPONSOR", "board in March", None)


def test_a_waiver_in_a_review_sent_back_neither_warns_nor_expires(runtime):
    _decide(runtime, sent_back=True)
    with runtime.transaction() as session:
        assert session.exec(select(GateReview)).one().state == "changes_requested"
    expiry = _expiry(runtime)
    business_day_before = next(expiry - timedelta(days=back) for back in range(1, 5)
                               if is_business_day((expiry - timedelta(days=back)).date()))
    for moment in (business_day_before + timedelta(hours=10), expiry + timedelta(hours=10)):
        assert scheduled.send_expiry_warnings(runtime, render=lambda warning: {"text": "-"}, now=moment) == 0
        assert scheduled.expire_waivers(runtime, now=moment) == 0
