"""Classifying an initiative in the database (SQLite and PostgreSQL): the result sets the risk tier and is
audited; a prohibited result blocks the gates; only the compliance owner overrides the tier, with a reason; the
questionnaire's versions are saved like the gate definitions'."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from sqlmodel import select

from bot.services.errors import Conflict, InvalidInput, PermissionDenied
from bot.services.initiatives.service import create_initiative, edit_initiative
from bot.services.regulation import service as regulation
from bot.services.regulation.questionnaire import Questionnaire
from bot.services.reviews.service import open_review_of, sign_offs_of, submit_for_next_gate
from bot.services.webhooks.service import WebhookEvents, add_endpoint
from storage.models import AuditEvent, Initiative, InitiativeClassification, WebhookDelivery
from tests.support.factories import TEAM, actor

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG", "compliance": "UCOMP"}


def answers(questionnaire: Questionnaire, **chosen: str) -> dict[str, str]:
    return {q.id: "no" for q in questionnaire.questions} | {k.replace("_", "-"): v for k, v in chosen.items()}


def classified(session, initiative: Initiative, **chosen: str) -> InitiativeClassification:
    questionnaire = regulation.questionnaire_for(session, team_id=TEAM)
    return regulation.classify(session, actor=actor("UBIZ"), initiative=initiative,
                               answers=answers(questionnaire, **chosen), version=questionnaire.version)


def test_a_classification_sets_the_risk_tier_and_is_audited_with_its_rationale(runtime):
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ"), title="CV screening", owners=OWNERS,
                                       risk_tier="low")
        assert regulation.unclassified(session, team_id=TEAM)[0] == 1  # keeps "low" until classified
        row = classified(session, initiative, annex3_employment="yes")

    with runtime.transaction() as session:
        stored = session.exec(select(Initiative)).one()
        assert (stored.risk_tier, stored.classified_tier) == ("high", "high")
        assert (row.derived_tier, row.questionnaire_version, row.decided_by) == ("high", 1, "UBIZ")
        assert row.rationale[0] == {"rule": "annex3-no-exception", "cites": "Art. 6(2) and Annex III"}
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "initiative.classified")).one()
        assert event.before == {"risk_tier": "low", "classified_tier": None}
        assert (event.after["risk_tier"], event.after["rule"]) == ("high", "annex3-no-exception")
        assert regulation.unclassified(session, team_id=TEAM) == (0, [])
        with pytest.raises(PermissionDenied, match="comes from its classification"):
            edit_initiative(session, actor=actor("UBIZ"), initiative=stored, risk_tier="low")


def test_an_open_review_keeps_its_roles_when_the_classification_raises_the_tier(runtime):
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ"), title="Credit scoring", owners=OWNERS,
                                       risk_tier="low")
        review = submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative)
        classified(session, initiative, annex3_essential_services="yes")
        assert initiative.risk_tier == "high"
        assert open_review_of(session, initiative_id=initiative.id).id == review.id
        assert {s.role for s in sign_offs_of(session, review_id=review.id)} == {"business", "data", "engineering"}


def test_needs_review_leaves_the_risk_tier_and_unanswered_questions_are_refused(runtime):
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ"), title="Chatbot", owners=OWNERS,
                                       risk_tier="medium")
        questionnaire = regulation.questionnaire_for(session, team_id=TEAM)
        partial = answers(questionnaire)
        del partial["gpai-provider"]
        with pytest.raises(regulation.UnansweredQuestions) as refused:
            regulation.classify(session, actor=actor("UBIZ"), initiative=initiative, answers=partial, version=1)
        assert refused.value.problems == {"gpai-provider": "answer this question"}
        forged = answers(questionnaire, art5_manipulation="maybe") | {"made-up": "yes"}  # not what the modal offers
        with pytest.raises(regulation.UnansweredQuestions) as refused:
            regulation.classify(session, actor=actor("UBIZ"), initiative=initiative, answers=forged, version=1)
        assert refused.value.problems == {
            "art5-manipulation": "'maybe' is not an answer; choose one of yes, no, unsure",
            "made-up": "this question is not in the questionnaire"}
        row = classified(session, initiative, art5_manipulation="unsure")
        assert (row.derived_tier, row.risk_tier, initiative.risk_tier) == ("needs-review", None, "medium")


def test_a_prohibited_result_cancels_the_open_review_and_blocks_every_gate(runtime):
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ"), title="Social score", owners=OWNERS)
        submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative)
        classified(session, initiative, art5_social_scoring="yes")
        assert open_review_of(session, initiative_id=initiative.id) is None
        with pytest.raises(Conflict, match="classified prohibited"):
            submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative)
        with pytest.raises(Conflict, match="no risk tier lifts that"):
            regulation.override_risk_tier(session, actor=actor("UCOMP"), initiative=initiative, risk_tier="low",
                                          reason="we disagree")


def test_only_the_compliance_owner_overrides_the_tier_and_only_with_a_reason(runtime):
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ"), title="FAQ bot", owners=OWNERS)
        classified(session, initiative, art50_interaction="yes")
        assert initiative.risk_tier == "medium"
        with pytest.raises(InvalidInput, match="Please give a reason"):
            regulation.override_risk_tier(session, actor=actor("UCOMP"), initiative=initiative, risk_tier="high",
                                          reason="  ")
        with pytest.raises(PermissionDenied, match="compliance owner"):
            regulation.override_risk_tier(session, actor=actor("UBIZ", admin=True), initiative=initiative,
                                          risk_tier="high", reason="customer-facing")
        row = regulation.override_risk_tier(session, actor=actor("UCOMP"), initiative=initiative, risk_tier="high",
                                            reason="customer-facing in a regulated market")
        assert (row.kind, row.derived_tier, initiative.risk_tier) == ("override", "limited", "high")
    with runtime.transaction() as session:  # audit events join the chain at commit
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "initiative.risk_tier_overridden")).one()
        assert event.after["reason"] == "customer-facing in a regulated market"
        assert event.after["signed_off_by"] == "UCOMP"


def test_the_questionnaire_is_saved_as_new_versions_and_a_stale_edit_is_refused(runtime):
    with runtime.transaction() as session:
        row = regulation.questionnaire_row(session, team_id=TEAM)
        document = dict(row.document, title="Our AI Act screening")
        with pytest.raises(PermissionDenied):
            regulation.save_questionnaire(session, actor=actor("UBIZ"), document=document, based_on=1)
        version, changes = regulation.save_questionnaire(session, actor=actor("UADMIN", admin=True),
                                                         document=document, based_on=1)
        assert (version, [c.path for c in changes]) == (2, ["title"])
        with pytest.raises(Conflict, match="now version 2"):
            regulation.save_questionnaire(session, actor=actor("UADMIN", admin=True), document=document, based_on=1)
        assert regulation.questionnaire_for(session, team_id=TEAM).title == "Our AI Act screening"
        assert regulation.questionnaire_for(session, team_id=TEAM, version=1).title == "EU AI Act screening"


def test_a_classification_is_sent_to_webhooks_in_the_documented_schema(runtime):
    runtime.event_handlers.append(WebhookEvents())
    schema = json.loads((Path(__file__).parents[3] / "docs" / "webhook-events.schema.json").read_text())
    with runtime.transaction() as session:
        add_endpoint(session, actor=actor("UADMIN", admin=True), settings=runtime.settings,
                     url="https://hooks.example.com/grc", events=["initiative.classified"])
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ"), title="Credit scoring", owners=OWNERS)
        classified(session, initiative, annex3_essential_services="yes")

    with runtime.transaction() as session:
        [delivery] = session.exec(select(WebhookDelivery)).all()
    jsonschema.validate(delivery.payload, schema)
    sent = delivery.payload["data"]["classification"]
    assert (delivery.event_type, sent["derived_tier"], sent["risk_tier"]) == ("initiative.classified", "high", "high")
    assert [line["cites"] for line in sent["rationale"][1:]] == ["Art. 6(3)(a) to (d)", "Annex III point 5"]


def test_a_portfolio_import_cannot_change_a_classified_tier_and_says_so_at_its_line(runtime):
    from tests.services.portfolio_io.support import import_file

    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ"), title="Invoice OCR", owners=OWNERS)
        classified(session, initiative)  # minimal -> low

    outcome = import_file(runtime, "p.csv", "title,risk_tier\nInvoice OCR,high\n")

    assert outcome.problems == ["p.csv:2: risk_tier: AI-1's risk tier (low) comes from its classification; its "
                                "compliance owner can override it: /initiative classify AI-1 override <tier> <reason>"]
