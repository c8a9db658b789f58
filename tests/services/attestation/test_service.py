"""Re-attestation rules and model ages that the Slack round trips (tests/listeners/test_attestation.py) do not reach:
the gate YAML's new fields, what holds an opening back, the hold after too long, what waits on a person, and
MLflow's other answers. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jsonschema
import pytest
import respx
from sqlmodel import col, select

from bot.integrations.http import guarded_client
from bot.integrations.mlflow import MlflowRegistry, ModelVersion
from bot.integrations.targets import OutboundPolicy
from bot.services.attestation.scheduled import run_reattestations
from bot.services.attestation.service import (
    AttestationEvents,
    ModelToCheck,
    reattestations_waiting_for,
    record_model_age,
)
from bot.services.gate_editing.service import current_document, save_definition
from bot.services.gates.catalog import default_document
from bot.services.gates.document import problems_in
from bot.services.initiatives.service import create_initiative
from bot.services.outcomes.scheduled import send_revisit_prompts
from bot.services.reviews import service as lifecycle
from bot.services.reviews import service as reviews
from bot.services.webhooks.automatic_checks import AutomaticCheckEvents
from bot.services.webhooks.service import WebhookEvents, add_endpoint
from storage.models import (
    AuditEvent,
    AutomaticCheck,
    GateReview,
    Initiative,
    InitiativeOutcome,
    SignOff,
    WebhookDelivery,
)
from tests.support.dns import fake_dns  # noqa: F401  (the webhook's host resolves from its table; autouse)
from tests.support.factories import TEAM, actor

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}
ADMIN = actor("UADMIN", admin=True)


def in_production(runtime, *, owners=OWNERS) -> Initiative:
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=ADMIN, title="Churn model", owners=owners, risk_tier="low")
        lifecycle.move_stage(session, actor=ADMIN, initiative=initiative, to_stage="production", reason="live")
        session.flush()
        session.expunge(initiative)
        return initiative


def production(**changes) -> dict:
    document = default_document()
    stage = next(s for s in document["stages"] if s["id"] == "production")
    stage.update(changes)
    return document


# ---- the gate YAML ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "message"), [
    ({"reattest_checklist": {}}, "stages[2].reattest_checklist: needs at least 1"),
    ({"reattest_every_days": 3}, "stages[2].reattest_every_days: 3 is out of range; use 7 to 3650"),
    ({"reattest_checklist": {"legal": [{"id": "ok", "label": "Still lawful"}]}},
     "stage 'production' has a re-attestation checklist for role 'legal', which is not a known role"),
    ({"reattest_checklist": {"sponsor": [{"id": "ok", "label": "Still funded"}]}},
     "stage 'production' asks role 'sponsor' to re-attest, which does not sign off (signs_off: false)"),
    ({"model_alias": "the champion"}, "stages[2].model_alias: 'the champion' is not an MLflow alias; use letters, "
                                      "digits, dashes and underscores, like 'champion'"),
])
def test_bad_re_attestation_fields_are_named(changes, message):
    assert any(message in problem.message for problem in problems_in(production(**changes))), problems_in(
        production(**changes))


def test_a_schedule_without_questions_and_questions_without_a_schedule_are_refused():
    document = production()
    stage = document["stages"][2]
    del stage["reattest_checklist"]
    assert [p.message for p in problems_in(document)] == [
        "stage 'production' sets reattest_every_days but no reattest_checklist; say what each role confirms again"]
    stage["reattest_checklist"] = {"business": [{"id": "used", "label": "Still used"}]}
    del stage["reattest_every_days"]
    assert [p.message for p in problems_in(document)] == [
        "stage 'production' has a reattest_checklist but no reattest_every_days; say how often, e.g. 90"]


def test_files_without_the_new_fields_stay_valid():
    document = default_document()
    for stage in document["stages"]:
        for field in ("reattest_every_days", "reattest_checklist", "max_model_age_days"):
            stage.pop(field, None)
    assert problems_in(document) == []


# ---- opening, holding, waiting -----------------------------------------------------------------------------------


def test_none_opens_while_a_gate_review_is_open_or_when_no_role_asked_has_an_owner(runtime):
    busy = in_production(runtime)
    with runtime.transaction() as session:
        reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=session.get(Initiative, busy.id))
    in_production(runtime, owners={"sponsor": "USPONSOR"})
    due = busy.stage_entered_at + timedelta(days=91)

    assert run_reattestations(runtime, now=due) == 0
    with runtime.transaction() as session:
        assert [r.kind for r in session.exec(select(GateReview))] == ["gate"]


def test_a_re_attestation_unanswered_past_its_stage_limit_puts_the_initiative_on_hold(runtime):
    with runtime.transaction() as session:
        version, document = current_document(session, team_id=TEAM)
        document["stages"][2]["reattest_hold_after_days"] = 14
        save_definition(session, actor=ADMIN, document=document, based_on=version)
    initiative = in_production(runtime)
    opened = initiative.stage_entered_at + timedelta(days=90, hours=1)
    assert run_reattestations(runtime, now=opened) == 1

    run_reattestations(runtime, now=opened + timedelta(days=13))
    with runtime.transaction() as session:
        assert session.get(Initiative, initiative.id).status == "active"
    run_reattestations(runtime, now=opened + timedelta(days=14, minutes=1))

    with runtime.transaction() as session:
        assert session.get(Initiative, initiative.id).status == "held"
        assert session.exec(select(GateReview)).one().state == "cancelled"
        hold = session.exec(select(InitiativeOutcome)).one()
        assert (hold.reason, hold.decided_by) == ("re-attestation unanswered for 14 days", "system")
        assert hold.revisit_on == (opened + timedelta(days=44, minutes=1)).date()
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions[-2:] == ["review.cancelled", "initiative.held"]
    # With no sponsor to ask on the revisit date, nobody is prompted (never a DM to "the bot").
    revisit = datetime.combine(hold.revisit_on, datetime.min.time(), UTC) + timedelta(hours=12)
    assert send_revisit_prompts(runtime, render=lambda due: {"text": due.key}, now=revisit) == 0


def test_what_waits_on_a_person_lists_their_re_attestations_only(runtime):
    first, second = in_production(runtime), in_production(runtime)
    with runtime.transaction() as session:
        reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=session.get(Initiative, second.id))
    run_reattestations(runtime, now=first.stage_entered_at + timedelta(days=91))

    with runtime.transaction() as session:
        waiting = reattestations_waiting_for(session, team_id=TEAM, user_id="UDATA")
        assert [(p.initiative.key, p.review.gate_slug, p.sign_off.role) for p in waiting] == [
            (first.key, "reattest:production", "data")]
        assert reattestations_waiting_for(session, team_id=TEAM, user_id="USOMEONE") == []


# ---- MLflow's answers ----------------------------------------------------------------------------------------------

MLFLOW = "https://93.184.215.16"
API = f"{MLFLOW}/api/2.0/mlflow"
MISSING = {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "not found"}


def ask(alias: str = "champion"):
    with guarded_client(OutboundPolicy(), timeout=5) as client:  # the SSRF guard, as the job uses it
        return MlflowRegistry(client, tracking_uri=MLFLOW, token=None).version_for_age("churn", alias)


@respx.mock
def test_without_the_alias_the_newest_version_counts():
    respx.get(f"{API}/registered-models/alias").respond(400, json={"error_code": "INVALID_PARAMETER_VALUE"})
    created = datetime(2026, 3, 1, tzinfo=UTC)
    respx.get(f"{API}/registered-models/get").respond(200, json={"registered_model": {"latest_versions": [
        {"version": "3", "creation_timestamp": 1_600_000_000_000},
        {"version": "12", "creation_timestamp": int(created.timestamp() * 1000)}]}})
    found = ask()
    assert (found.version, found.created_at) == ("12", created)
    assert found.evidence == "version 12 (the latest version) created 2026-03-01"


@respx.mock
@pytest.mark.parametrize(("answers", "evidence"), [
    ({"alias": httpx.Response(404, json=MISSING), "get": httpx.Response(404, json=MISSING)},
     "model churn is not registered in MLflow"),
    ({"alias": httpx.Response(200, json={"model_version": {"version": "4"}})},
     "MLflow gave no creation time for version 4"),
    ({"alias": httpx.Response(502, text="<html>bad gateway</html>")}, "could not ask MLflow: MLflow answered HTTP 502"),
])
def test_when_the_age_cannot_be_known_it_is_unknown_never_fresh(answers, evidence):
    respx.get(f"{API}/registered-models/alias").mock(return_value=answers["alias"])
    respx.get(f"{API}/registered-models/get").mock(return_value=answers.get("get", httpx.Response(500)))
    found = ask()
    assert found.created_at is None and found.evidence == evidence


# ---- webhooks ----------------------------------------------------------------------------------------------------

SCHEMA = json.loads((Path(__file__).parents[3] / "docs" / "webhook-events.schema.json").read_text())


def test_re_attestations_and_flags_are_sent_in_the_documented_schema(runtime):
    runtime.event_handlers += [AttestationEvents(), WebhookEvents()]
    with runtime.transaction() as session:
        add_endpoint(session, actor=ADMIN, settings=runtime.settings, url="https://hooks.example.com/ai",
                     events=["review.opened", "initiative.at_risk", "initiative.stale_model",
                             "initiative.flag_cleared"])
    initiative = in_production(runtime)
    now = initiative.stage_entered_at + timedelta(days=91)
    run_reattestations(runtime, now=now)
    with runtime.transaction() as session:
        business = session.exec(select(SignOff).where(SignOff.role == "business")).one()
        reviews.request_changes(session, actor=actor("UBIZ"), sign_off_id=business.id, reason="Nobody uses it",
                                now=now)
    with runtime.transaction() as session:
        wanted = ModelToCheck(initiative.id, "churn", "champion", 180)
        record_model_age(session, wanted=wanted, now=now,
                         found=ModelVersion("3", now - timedelta(days=200), "version 3 (@champion) created long ago"))
        record_model_age(session, wanted=wanted, now=now + timedelta(hours=2),
                         found=ModelVersion("4", now, "version 4 (@champion) created today"))

    with runtime.transaction() as session:
        rows = session.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.id))).all()
        for row in rows:
            jsonschema.validate(row.payload, SCHEMA)
        sent = [(row.event_type, row.payload["data"]) for row in rows]
    assert [kind for kind, _ in sent] == ["review.opened", "initiative.at_risk", "initiative.stale_model",
                                          "initiative.flag_cleared"]
    assert sent[0][1]["review"]["kind"] == "reattestation" and sent[0][1]["review"]["gate"] == "reattest:production"
    assert sent[1][1]["flag"]["detail"] == "Business owner could not confirm the re-attestation: Nobody uses it"
    assert sent[3][1]["flag"]["kind"] == "stale_model" and sent[3][1]["flag"]["cleared_by"] == "system"


def test_an_automatic_check_that_names_no_model_checks_the_initiatives_own(runtime):
    runtime.event_handlers.append(AutomaticCheckEvents())
    with runtime.transaction() as session:
        version, document = current_document(session, team_id=TEAM)
        document["gates"][0]["checklist"]["engineering"].append(
            {"id": "own-champion", "label": "Its model has a champion", "check": {"alias": "champion"}})
        save_definition(session, actor=ADMIN, document=document, based_on=version)
    for model in ("churn", ""):
        with runtime.transaction() as session:
            initiative = create_initiative(session, actor=actor("UBIZ"), title="Churn", owners=OWNERS,
                                           mlflow_model=model)
            reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative)

    with runtime.transaction() as session:
        specs = [check.spec for check in session.exec(select(AutomaticCheck).order_by(col(AutomaticCheck.id)))]
    assert specs == [{"mlflow_model": "churn", "alias": "champion"}, {"mlflow_model": None, "alias": "champion"}]
    assert MlflowRegistry(httpx.Client(), tracking_uri=MLFLOW, token=None).check(specs[1]).evidence == (
        "could not check: the initiative names no MLflow model (mlflow_model)")
