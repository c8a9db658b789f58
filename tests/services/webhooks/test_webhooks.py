"""Webhooks end to end: registration, deliveries written with their event, signed delivery that a receiver can
verify by the documented steps, retries with backoff, and disabling a failing endpoint with admins told."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import jsonschema
import pytest
from sqlmodel import select

from bot.services.access.visibility import Audience
from bot.services.business_days import WorkCalendar
from bot.services.errors import InvalidInput, PermissionDenied
from bot.services.initiatives.service import create_initiative, get_initiative
from bot.services.outcomes import service as outcomes
from bot.services.reviews import service as lifecycle
from bot.services.reviews import service as reviews
from bot.services.tracked_items import service as tracked_items
from bot.services.tracked_items.conditions import DraftCondition
from bot.services.webhooks.scheduled import deliver_webhooks
from bot.services.webhooks.service import WebhookEvents, add_endpoint, list_endpoints, remove_endpoint
from storage.models import OutboxMessage, WebhookDelivery, WebhookEndpoint
from storage.types import utcnow
from tests.support.factories import TEAM, actor
from tests.support.webhooks import verify_as_receiver

EVERYONE = Audience.workspace(team_id=TEAM)  # who reads: anyone in the test workspace

HOOK = "https://hooks.example.com/initiatives"
PINNED = "https://93.184.215.14/initiatives"  # what the guarded transport connects to (see conftest)
OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}
SCHEMA = json.loads((Path(__file__).parents[3] / "docs" / "webhook-events.schema.json").read_text())


@pytest.fixture
def hooked(runtime):
    runtime.event_handlers.append(WebhookEvents())
    return runtime


def _register(runtime, url=HOOK, events=None):
    with runtime.transaction() as session:
        registered = add_endpoint(session, actor=actor("UADMIN", admin=True), settings=runtime.settings, url=url,
                                  events=events)
        return registered.endpoint.id, registered.secret


def _create(runtime, title="Churn model"):
    with runtime.transaction() as session:
        return create_initiative(session, actor=actor("UBIZ"), title=title, owners=OWNERS).key


def test_only_admins_register_and_the_secret_is_standard_webhooks_format(hooked):
    with hooked.transaction() as session, pytest.raises(PermissionDenied):
        add_endpoint(session, actor=actor("UBIZ"), settings=hooked.settings, url=HOOK)
    endpoint_id, secret = _register(hooked, events=["review.opened", "stage.changed"])
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 24
    with hooked.transaction() as session:
        listed = list_endpoints(session, actor=actor("UADMIN", admin=True))
        assert [(e.id, e.events) for e in listed] == [(endpoint_id, ["review.opened", "stage.changed"])]


@pytest.mark.parametrize("url, problem", [("http://hooks.example.com/x", "https"), ("https://127.0.0.1/x", "public"),
                                          ("ftp://hooks.example.com/", "https")])
def test_registration_refuses_targets_the_guard_would_refuse(hooked, url, problem):
    with hooked.transaction() as session, pytest.raises(InvalidInput, match=problem):
        add_endpoint(session, actor=actor("UADMIN", admin=True), settings=hooked.settings, url=url)


def test_unknown_event_names_are_refused(hooked):
    with hooked.transaction() as session, pytest.raises(InvalidInput, match="not an event"):
        add_endpoint(session, actor=actor("UADMIN", admin=True), settings=hooked.settings, url=HOOK,
                     events=["review.closed"])


def test_a_delivery_exists_exactly_when_its_event_committed(hooked):
    _register(hooked)
    with pytest.raises(RuntimeError), hooked.transaction() as session:
        create_initiative(session, actor=actor("UBIZ"), title="Rolled back", owners=OWNERS)
        raise RuntimeError("the request failed after the change")
    _create(hooked)
    with hooked.transaction() as session:
        rows = session.exec(select(WebhookDelivery)).all()
        assert [(d.event_type, d.payload["data"]["initiative"]["title"]) for d in rows] == [
            ("initiative.created", "Churn model")]


def test_events_follow_the_subscription_and_the_documented_schema(hooked, respx_mock):
    _register(hooked)
    _register(hooked, url="https://hooks.example.com/stages", events=["stage.changed"])
    key = _create(hooked)
    with hooked.transaction() as session:
        initiative = get_initiative(session, audience=EVERYONE, key=key)
        review = reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative)
        sign_offs = reviews.sign_offs_of(session, review_id=review.id)
    for sign_off in sign_offs:
        with hooked.transaction() as session:
            items = [i.id for i in reviews.checklist_of(session, sign_off, session.get(type(review), review.id))]
            reviews.approve(session, actor=actor(sign_off.assignee), sign_off_id=sign_off.id, ticked=items,
                            evidence_links=["https://docs.example.com/card"])
    with hooked.transaction() as session:
        rows = session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        by_endpoint = {}
        for row in rows:
            by_endpoint.setdefault(row.endpoint_id, []).append(row.event_type)
            jsonschema.validate(row.payload, SCHEMA)
    everything, stages = sorted(by_endpoint)
    assert by_endpoint[everything] == ["initiative.created", "review.opened", "signoff.decided", "signoff.decided",
                                       "signoff.decided", "stage.changed", "gate.decided"]
    decided = next(row.payload["data"] for row in rows if row.event_type == "gate.decided")
    assert (decided["gate"], decided["outcome"]) == ("idea-to-pilot", "go")
    assert by_endpoint[stages] == ["stage.changed"]


def test_a_receiver_verifies_the_signature_by_the_documented_steps(hooked, respx_mock):
    _, secret = _register(hooked)
    route = respx_mock.post(PINNED).respond(204)
    key = _create(hooked)

    assert deliver_webhooks(hooked).sent == 1
    request = route.calls.last.request
    event = verify_as_receiver(secret, request.headers, request.content)
    assert event["type"] == "initiative.created" and event["data"]["initiative"]["key"] == key
    assert request.headers["webhook-id"].startswith("msg_")
    with pytest.raises(ValueError, match="bad signature"):
        verify_as_receiver(secret, request.headers, request.content.replace(b"Churn", b"Chirp"))
    with pytest.raises(ValueError, match="replay"):
        verify_as_receiver(secret, request.headers, request.content, tolerance=-1)


@pytest.mark.parametrize("failure", [httpx.Response(503), httpx.ReadTimeout("slow"), httpx.Response(302)])
def test_a_failed_delivery_is_retried_after_a_backoff_with_the_same_id(hooked, respx_mock, failure):
    _, secret = _register(hooked)
    answers = iter([failure, httpx.Response(200)])
    route = respx_mock.post(PINNED).mock(side_effect=lambda request: _answer(next(answers)))
    _create(hooked)

    first = utcnow()
    assert deliver_webhooks(hooked).retrying == 1
    with hooked.transaction() as session:
        delivery = session.exec(select(WebhookDelivery)).one()
        endpoint = session.exec(select(WebhookEndpoint)).one()
        assert delivery.attempts == 1 and endpoint.consecutive_failures == 1
        # Equal jitter around a 30 s base: between 15 and 30 seconds for the first retry.
        assert first + timedelta(seconds=14) < delivery.next_attempt_at < utcnow() + timedelta(seconds=31)
        retry_at = delivery.next_attempt_at
    assert deliver_webhooks(hooked).sent == 0 and route.call_count == 1  # not due yet

    assert deliver_webhooks(hooked, now=retry_at + timedelta(seconds=1)).sent == 1
    first_id, second_id = (call.request.headers["webhook-id"] for call in route.calls)
    assert first_id == second_id
    verify_as_receiver(secret, route.calls.last.request.headers, route.calls.last.request.content)
    with hooked.transaction() as session:
        assert session.exec(select(WebhookDelivery)).one().state == "sent"
        assert session.exec(select(WebhookEndpoint)).one().consecutive_failures == 0


def _answer(outcome):
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def test_after_n_failures_in_a_row_the_endpoint_is_disabled_and_admins_are_told(hooked, respx_mock):
    hooked.settings = hooked.settings.model_copy(update={"webhook_disable_after_failures": 3,
                                                         "webhook_max_attempts": 10})
    endpoint_id, _ = _register(hooked)
    route = respx_mock.post(PINNED).respond(500)
    _create(hooked, "First")
    _create(hooked, "Second")

    later = utcnow()
    for _ in range(2):
        later += timedelta(hours=7)
        deliver_webhooks(hooked, now=later)
    with hooked.transaction() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert not endpoint.enabled and endpoint.consecutive_failures == 3
        assert {d.state for d in session.exec(select(WebhookDelivery))} == {"failed"}
        notices = session.exec(select(OutboxMessage).where(OutboxMessage.method == "chat.postMessage")).all()
        assert [n.payload["channel"] for n in notices] == ["UADMIN"]
        assert "disabled after 3 failed deliveries" in notices[0].payload["text"]
        assert "HTTP 500" in notices[0].payload["text"]
    calls = route.call_count
    _create(hooked, "Third")
    deliver_webhooks(hooked, now=later + timedelta(hours=7))
    assert route.call_count == calls  # a disabled endpoint gets nothing new


def test_an_endpoint_whose_name_resolves_to_loopback_is_refused_and_one_that_rebinds_later_gets_nothing(
        hooked, respx_mock, fake_dns):
    with pytest.raises(InvalidInput, match=r"sneaky\.example\.com resolves to 127\.0\.0\.1"):
        _register(hooked, url="https://sneaky.example.com/hook")
    fake_dns["rebinding.example.com"] = "93.184.215.20"
    endpoint_id, _ = _register(hooked, url="https://rebinding.example.com/hook")
    fake_dns["rebinding.example.com"] = "127.0.0.1"
    anything = respx_mock.route().respond(200)
    _create(hooked)
    assert deliver_webhooks(hooked).retrying == 1
    assert not anything.called
    with hooked.transaction() as session:
        assert "127.0.0.1" in session.get(WebhookEndpoint, endpoint_id).last_error


def test_removing_an_endpoint_drops_its_undelivered_events(hooked, respx_mock):
    endpoint_id, _ = _register(hooked)
    _create(hooked)
    with hooked.transaction() as session:
        remove_endpoint(session, actor=actor("UADMIN", admin=True), ref=str(endpoint_id))
    anything = respx_mock.route().respond(200)
    deliver_webhooks(hooked)
    assert not anything.called


def test_holds_their_extensions_recycles_and_kills_are_sent_with_their_reasons_in_the_documented_schema(hooked):
    _register(hooked, events=["initiative.held", "initiative.hold_extended", "initiative.recycled",
                              "initiative.killed", "gate.decided"])
    key = _create(hooked)
    admin = actor("UADMIN", admin=True)
    today = utcnow().date()
    with hooked.transaction() as session:
        initiative = get_initiative(session, audience=EVERYONE, key=key, for_update=True)
        lifecycle.move_stage(session, actor=admin, initiative=initiative, to_stage="pilot", reason="fast track")
        outcomes.recycle(session, actor=admin, initiative=initiative, to_stage="idea", reason="redo the baseline")
        outcomes.hold(session, actor=admin, initiative=initiative, until=today + timedelta(days=30),
                      reason="no budget", today=today)
    with hooked.transaction() as session:  # a later decision (the webhook reads the hold as it is at commit)
        initiative = get_initiative(session, audience=EVERYONE, key=key, for_update=True)
        outcomes.extend_hold(session, actor=actor("UADMIN2", admin=True), initiative=initiative,
                             until=today + timedelta(days=60), reason="budget review moved", today=today)
        outcomes.kill(session, actor=admin, initiative=initiative, rationale="merged priorities",
                      lessons="baseline first")
    with hooked.transaction() as session:
        rows = session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        for row in rows:
            jsonschema.validate(row.payload, SCHEMA)
        sent = [(row.event_type, row.payload["data"]["outcome"]) for row in rows if row.event_type != "gate.decided"]
        extended_by = next(row for row in rows if row.event_type == "initiative.hold_extended").payload["data"]["actor"]
        decided = [(row.payload["data"]["gate"], row.payload["data"]["outcome"]) for row in rows
                   if row.event_type == "gate.decided"]
    # Each is also the outcome of the gate it faced: the recycle, Production readiness (from Pilot); the hold and
    # the kill, back in Idea, Pilot approval. Extending a hold decides no gate.
    assert decided == [("pilot-to-production", "recycle"), ("idea-to-pilot", "hold"), ("idea-to-pilot", "kill")]
    assert [(kind, outcome["kind"], outcome["reason"]) for kind, outcome in sent] == [
        ("initiative.recycled", "recycle", "redo the baseline"), ("initiative.held", "hold", "no budget"),
        ("initiative.hold_extended", "hold", "no budget"), ("initiative.killed", "kill", "merged priorities")]
    assert sent[0][1]["to_stage"] == "idea" and sent[1][1]["revisit_on"] == (today + timedelta(days=30)).isoformat()
    assert sent[2][1]["revisit_on"] == (today + timedelta(days=60)).isoformat() and extended_by == "UADMIN2"
    assert sent[3][1]["lessons"] == "baseline first"


def test_a_conditional_go_is_sent_as_gate_decided_with_outcome_conditional_go(hooked):
    _register(hooked, events=["gate.decided"])
    key = _create(hooked)
    with hooked.transaction() as session:
        initiative = get_initiative(session, audience=EVERYONE, key=key)
        review = reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative)
        sign_offs = reviews.sign_offs_of(session, review_id=review.id)
    for number, sign_off in enumerate(sign_offs):
        with hooked.transaction() as session:
            items = [i.id for i in reviews.checklist_of(session, sign_off, session.get(type(review), review.id))]
            reviews.approve(session, actor=actor(sign_off.assignee), sign_off_id=sign_off.id, ticked=items,
                            conditions=[DraftCondition("Model card published")] if number == 0 else ())
    with hooked.transaction() as session:
        [row] = session.exec(select(WebhookDelivery)).all()
    jsonschema.validate(row.payload, SCHEMA)
    assert (row.event_type, row.payload["data"]["gate"], row.payload["data"]["outcome"]) == (
        "gate.decided", "idea-to-pilot", "conditional_go")


def test_conditions_created_met_and_overdue_are_sent_in_the_documented_schema(hooked):
    _register(hooked, events=["condition.created", "condition.met", "condition.overdue"])
    key = _create(hooked)
    with hooked.transaction() as session:
        initiative = get_initiative(session, audience=EVERYONE, key=key, for_update=True)
        for text, due in (("Model card", date(2026, 12, 16)), ("Load test", date(2026, 12, 1))):
            tracked_items.create_item(session, actor="UBIZ", initiative=initiative, kind="condition", text=text,
                                      owner="UDATA", due_on=due, gate_slug="idea-to-pilot", stage="pilot")
    with hooked.transaction() as session:
        initiative, item = tracked_items.find_item(session, audience=EVERYONE, key=f"{key}-C1", for_update=True)
        tracked_items.meet(session, actor=actor("UDATA"), initiative=initiative, item=item, evidence="on the wiki")
        tracked_items.record_overdue(session, team_id="T0TEST", now=datetime(2026, 12, 2, 9, tzinfo=UTC),
                                     calendar=WorkCalendar(default_zone=ZoneInfo("UTC")))
    with hooked.transaction() as session:
        rows = session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        for row in rows:
            jsonschema.validate(row.payload, SCHEMA)
        sent = [(row.event_type, row.payload["data"]["condition"]["id"], row.payload["data"]["condition"]["state"])
                for row in rows]
    assert sent == [("condition.created", f"{key}-C1", "open"), ("condition.created", f"{key}-C2", "open"),
                    ("condition.met", f"{key}-C1", "met"), ("condition.overdue", f"{key}-C2", "open")]


def test_payloads_say_confidential_and_a_receiver_can_skip_confidential_initiatives(hooked):
    everything, _ = _register(hooked)
    discreet, _ = _register(hooked, url="https://hooks.example.com/discreet", events=["skip-confidential"])
    with hooked.transaction() as session:
        create_initiative(session, actor=actor("UADMIN", admin=True), title="Acquisition model", owners=OWNERS,
                          confidential=True)
    _create(hooked, "Churn model")

    with hooked.transaction() as session:
        deliveries = session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        sent = [(d.endpoint_id, d.payload["data"]["initiative"]["title"],
                 d.payload["data"]["initiative"]["confidential"]) for d in deliveries]
        listed = list_endpoints(session, actor=actor("UADMIN", admin=True))
        payloads = [d.payload for d in session.exec(select(WebhookDelivery))]
    assert sent == [(everything, "Acquisition model", True), (everything, "Churn model", False),
                    (discreet, "Churn model", False)]
    assert [e.skip_confidential for e in listed] == [False, True]
    for payload in payloads:
        jsonschema.validate(payload, SCHEMA)
