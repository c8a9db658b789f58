"""`initiative-bot audit record KEY`: the decision record an auditor asks for."""

from __future__ import annotations

import json

from sqlalchemy import update

from bot.services.access.visibility import Audience
from bot.services.audit.identity import remember_identity
from bot.services.gates.catalog import default_document
from bot.services.initiatives.service import get_initiative
from bot.services.reviews import service as reviews
from storage.models import AuditEvent, GateDefinitionVersion
from tests.services.audit.history import decide_everything, new_initiative
from tests.support.factories import TEAM, actor

EVERYONE = Audience.workspace(team_id=TEAM)  # who reads: anyone in the test workspace

EVIDENCE = "https://wiki.example.com/fraud/data-governance"


def _define_version_2(runtime) -> None:
    """A later definition that renames a checklist item: reviews pinned to version 1 keep the old label."""
    document = default_document()
    document["gates"][0]["checklist"]["data"][1]["label"] = "Renamed in version 2"
    with runtime.transaction() as session:
        session.add(GateDefinitionVersion(team_id=TEAM, version=2, definition=document, created_by="UADMIN"))


def test_markdown_record_shows_each_signature_with_its_checklist_evidence_and_the_pinned_labels(runtime, cli):
    with runtime.transaction() as session:
        remember_identity(session, team_id=TEAM, user_id="UDATA", display_name="Dev Patel")
    key = new_initiative(runtime)
    decide_everything(runtime, key, waive_item="sources-governed", evidence=(EVIDENCE,))
    _define_version_2(runtime)

    code, out, _ = cli("audit", "record", key)

    assert code == 0
    assert "# Decision record: AI-1 Fraud scoring" in out
    assert "Current stage: **Pilot** (active)" in out and "Gate definitions in force: version 2" in out
    assert "## Pilot approval: Idea → Pilot: passed" in out and "Gate definitions version 1." in out
    data_section = out.split("### Data owner")[1].split("###")[0]
    assert data_section.startswith(": approved by Dev Patel (UDATA) on ")
    assert ("- [~] Data use approved by its governance owner (waived: covered by the vendor's own assessment)"
            in data_section)
    assert "- [x] Data sources identified and accessible (ticked)" in data_section
    assert f"- Evidence: {EVIDENCE}" in data_section
    assert "Renamed in version 2" not in out
    assert "- Integrity: Audit chain of T0TEST verifies: " in out


def test_json_record_shows_a_failed_gate_and_a_chain_that_no_longer_verifies(runtime, cli):
    key = new_initiative(runtime)
    with runtime.transaction() as session:
        review = reviews.submit_for_next_gate(session, actor=actor("UBIZ"),
                                              initiative=get_initiative(session, audience=EVERYONE, key=key))
        engineering = next(s for s in reviews.sign_offs_of(session, review_id=review.id) if s.role == "engineering")
    with runtime.transaction() as session:
        reviews.request_changes(session, actor=actor("UENG"), sign_off_id=engineering.id,
                                reason="No rollback plan yet")
    with runtime.engine.begin() as connection:
        connection.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(subject_key="AI-7"))

    code, out, _ = cli("audit", "record", key, "--format", "json")

    assert code == 0
    record = json.loads(out)
    assert record["current_stage"] == "Idea"
    (gate,) = record["gates"]
    assert gate["outcome"] == "failed (changes requested)" and gate["close_reason"] == "No rollback plan yet"
    decisions = {s["role"]: (s["decision"], s["decided_by"]) for s in gate["signatures"]}
    assert decisions == {"business": ("cancelled", None), "data": ("cancelled", None),
                         "engineering": ("changes_requested", "UENG")}
    assert record["chain_verifies"] is False and "content was changed" in record["chain_summary"]


def test_record_of_an_unknown_initiative_is_one_line(runtime, cli):
    code, _, err = cli("audit", "record", "AI-42")
    assert code == 1
    assert err.strip() == "initiative-bot: There is no initiative AI-42. `/initiative list` shows them all."
