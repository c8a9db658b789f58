"""Evidence links checked after they are attached (and daily), and MLflow checklist items, over respx."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from bot.services.access.visibility import Audience
from bot.services.initiatives.service import get_initiative
from bot.services.reviews import service as reviews
from bot.services.webhooks.automatic_checks import AutomaticCheckEvents, results_for
from bot.services.webhooks.evidence import EvidenceEvents, flagged_links
from bot.services.webhooks.scheduled import check_due_evidence, run_automatic_checks
from storage.models import EvidenceCheck, SignOff
from storage.types import utcnow
from tests.services.webhooks.support import approve, open_review, with_mlflow_item
from tests.support.factories import TEAM, actor

EVERYONE = Audience.workspace(team_id=TEAM)  # who reads: anyone in the test workspace

MLFLOW = "https://93.184.215.16/api/2.0/mlflow"
ADMIN = actor("UADMIN", admin=True)


@pytest.fixture
def checked(runtime):
    runtime.event_handlers += [EvidenceEvents(), AutomaticCheckEvents()]
    return runtime


def test_attached_links_are_checked_and_broken_ones_flagged_then_rechecked_daily(checked, respx_mock):
    checked.settings = checked.settings.model_copy(update={"evidence_allowed_hosts": frozenset({"intranet.corp"})})
    respx_mock.get("https://93.184.215.15/card").respond(200)
    gone = respx_mock.get("https://93.184.215.15/gone").respond(404)
    respx_mock.get("https://93.184.215.15/loop").respond(302, headers={"location": "/loop"})
    respx_mock.get("http://10.1.2.3/dpia").respond(200)
    metadata = respx_mock.route(host="127.0.0.1").respond(200)
    links = ["https://docs.example.com/card", "https://docs.example.com/gone", "https://docs.example.com/loop",
             "http://intranet.corp/dpia", "https://sneaky.example.com/x"]
    _, _, sign_offs = open_review(checked)
    approve(checked, sign_offs["data"], "UDATA", links)

    assert check_due_evidence(checked) == 5
    assert not metadata.called
    with checked.transaction() as session:
        flagged = flagged_links(session, team_id=TEAM, urls=links)
        assert {url: (row.state, row.detail) for url, row in flagged.items()} == {
            "https://docs.example.com/gone": ("broken", "HTTP 404"),
            "https://docs.example.com/loop": ("broken", "docs.example.com redirects in a loop"),
            "https://sneaky.example.com/x": ("blocked",
                                             "not checked: sneaky.example.com resolves to 127.0.0.1, which is not "
                                             "a public address"),
        }
    assert check_due_evidence(checked) == 0  # nothing due until tomorrow
    gone.respond(200)
    assert check_due_evidence(checked, now=utcnow() + timedelta(days=1, minutes=1)) == 5
    with checked.transaction() as session:
        assert set(flagged_links(session, team_id=TEAM, urls=links)) == {"https://docs.example.com/loop",
                                                                           "https://sneaky.example.com/x"}


def test_a_new_review_rechecks_the_links_of_earlier_sign_offs(checked, respx_mock):
    route = respx_mock.get("https://93.184.215.15/card").respond(200)
    key, _, sign_offs = open_review(checked)
    approve(checked, sign_offs["data"], "UDATA", ["https://docs.example.com/card"])
    check_due_evidence(checked)
    with checked.transaction() as session:
        reviews.cancel_open_review(session, actor=ADMIN, initiative=get_initiative(session, audience=EVERYONE, key=key),
                                   reason="rescoped")
        reviews.submit_for_next_gate(session, actor=actor("UBIZ"),
                                     initiative=get_initiative(session, audience=EVERYONE, key=key))
    assert check_due_evidence(checked) == 1 and route.call_count == 2


def _result(runtime, review_id):
    with runtime.transaction() as session:
        found = results_for(session, review_id=review_id, role="engineering")["champion-model"]
        return found.outcome, found.evidence


def test_an_alias_check_passes_with_its_evidence(checked, respx_mock):
    with_mlflow_item(checked, {"mlflow_model": "churn", "alias": "champion"})
    route = respx_mock.get(f"{MLFLOW}/registered-models/alias", params={"name": "churn", "alias": "champion"}).respond(
        200, json={"model_version": {"name": "churn", "version": "7", "run_id": "abc123"}})
    _, review_id, _ = open_review(checked)
    assert run_automatic_checks(checked) == 1
    outcome, evidence = _result(checked, review_id)
    assert outcome == "passed" and "churn version 7 is @champion, run abc123" in evidence
    assert route.calls.last.request.headers["authorization"] == "Bearer tok"


def test_a_passed_model_check_is_ticked_in_the_engineering_owners_approve_modal(checked, respx_mock):
    from slack_sdk.models.views import View

    from bot.presenters import sign_off_card
    from bot.views.modals import checklist
    from slack_emulator import validate_view

    with_mlflow_item(checked, {"mlflow_model": "churn", "alias": "champion"})
    respx_mock.get(f"{MLFLOW}/registered-models/alias").respond(
        200, json={"model_version": {"name": "churn", "version": "7", "run_id": "abc123"}})
    _, _, sign_offs = open_review(checked)
    run_automatic_checks(checked)

    with checked.transaction() as session:
        modal = checklist(sign_off_card(session, session.get(SignOff, sign_offs["engineering"]),
                                        default_zone=checked.settings.default_zone))
        business_modal = checklist(sign_off_card(session, session.get(SignOff, sign_offs["business"]),
                                                 default_zone=checked.settings.default_zone))
    View(**modal).validate_json()
    assert validate_view(modal) == []
    ticked = [o["value"] for b in modal["blocks"] if b["type"] == "actions"
              for e in b["elements"] for o in e.get("initial_options", [])]
    assert ticked == ["champion-model"]
    assert any("churn version 7 is @champion" in str(b) for b in modal["blocks"] if b["type"] == "context")
    assert "initial_options" not in str(business_modal)


def test_a_missing_alias_or_model_fails(checked, respx_mock):
    with_mlflow_item(checked, {"mlflow_model": "churn", "alias": "champion"})
    respx_mock.get(f"{MLFLOW}/registered-models/alias").respond(
        404, json={"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no alias"})
    model = respx_mock.get(f"{MLFLOW}/registered-models/get").respond(200, json={"registered_model": {"name": "churn"}})
    _, review_id, _ = open_review(checked)
    run_automatic_checks(checked)
    assert _result(checked, review_id) == ("failed", "model churn has no version with alias @champion")
    assert model.called


def test_the_deprecated_stage_is_checked_on_the_client_side(checked, respx_mock):
    with_mlflow_item(checked, {"mlflow_model": "churn", "stage": "Production"})
    respx_mock.get(f"{MLFLOW}/registered-models/get").respond(200, json={"registered_model": {"name": "churn"}})
    search = respx_mock.get(f"{MLFLOW}/model-versions/search").respond(200, json={"model_versions": [
        {"version": "3", "current_stage": "Production"}, {"version": "5", "current_stage": "Staging"},
        {"version": "4", "current_stage": "Production", "run_id": "r4"}]})
    _, review_id, _ = open_review(checked)
    run_automatic_checks(checked)
    outcome, evidence = _result(checked, review_id)
    assert outcome == "passed" and evidence.startswith("churn version 4 is in stage Production, run r4")
    assert search.calls.last.request.url.params["filter"] == "name='churn'"


@pytest.mark.parametrize("trouble", [httpx.ConnectTimeout("slow"), httpx.Response(503),
                                     httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] bad cert"),
                                     httpx.Response(200, content=b"x" * 3_000_000),
                                     httpx.Response(404, text="<html>not mlflow</html>")])
def test_an_unreachable_mlflow_is_could_not_check_neither_pass_nor_fail(checked, respx_mock, trouble):
    with_mlflow_item(checked, {"mlflow_model": "churn", "alias": "champion"})
    respx_mock.get(f"{MLFLOW}/registered-models/alias").mock(
        side_effect=trouble if isinstance(trouble, Exception) else None,
        return_value=None if isinstance(trouble, Exception) else trouble)
    _, review_id, _ = open_review(checked)
    run_automatic_checks(checked)
    outcome, evidence = _result(checked, review_id)
    assert outcome == "unknown" and evidence.startswith("could not check MLflow")


def test_evidence_rows_exist_only_for_links_on_sign_offs(checked):
    open_review(checked)
    with checked.transaction() as session:
        assert session.exec(select(EvidenceCheck)).all() == []


def test_broken_links_are_flagged_in_the_sign_off_dm_and_in_the_digest(checked, respx_mock):
    from bot.presenters import sign_off_card
    from bot.services.digest.definitions import preview_digest
    from bot.services.digest.service import channel_audience, compute_digest
    from bot.views.digest import digest_blocks
    from bot.views.messages import sign_off_request

    respx_mock.get("https://93.184.215.15/card").respond(200)
    respx_mock.get("https://93.184.215.15/gone").respond(404)
    links = ["https://docs.example.com/card", "https://docs.example.com/gone"]
    key, _, sign_offs = open_review(checked)
    approve(checked, sign_offs["data"], "UDATA", links)
    check_due_evidence(checked)

    with checked.transaction() as session:
        dm = sign_off_request(sign_off_card(session, session.get(SignOff, sign_offs["business"]),
                                            default_zone=checked.settings.default_zone))
        evidence = next(b["text"]["text"] for b in dm.blocks if "*Evidence*" in b.get("text", {}).get("text", ""))
        gone_line, card_line = (next(line for line in evidence.splitlines() if path in line)
                                for path in ("/gone", "/card"))
        assert "broken: HTTP 404" in gone_line and "broken" not in card_line

        digest = preview_digest(TEAM, checked.settings)
        report = compute_digest(session, digest=digest, as_of=utcnow(), audience=channel_audience(digest),
                                default_zone=checked.settings.default_zone)
    assert [(b.url, b.initiative_keys, b.detail) for b in report.broken_links] == [
        ("https://docs.example.com/gone", (key,), "HTTP 404")]
    section = next(b for b in digest_blocks(report) if "Broken evidence links" in str(b.to_dict()))
    assert "docs.example.com/gone" in str(section.to_dict()) and key in str(section.to_dict())
