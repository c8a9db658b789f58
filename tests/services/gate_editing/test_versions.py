"""Editing gate definitions: new versions, pinning of open reviews, stage removal, refusals; both backends."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import col, select

from bot.services.access.visibility import Audience
from bot.services.errors import Conflict, PermissionDenied
from bot.services.gate_editing import service as gate_edits
from bot.services.gate_editing.service import InvalidDefinition, current_document, save_definition
from bot.services.gates.workspaces import catalog_for
from bot.services.initiatives.service import create_initiative, get_initiative, history
from bot.services.reviews import service as reviews
from storage.models import AuditEvent, GateDefinitionVersion, GateReview, SignOff, StageTransition
from tests.support.factories import TEAM, actor

EVERYONE = Audience.workspace(team_id=TEAM)  # who reads: anyone in the test workspace

ADMIN = actor("UADMIN", admin=True)
OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG", "compliance": "UCOMP"}


def _versions(runtime) -> list[int]:
    with runtime.transaction() as session:
        return list(session.exec(select(GateDefinitionVersion.version).where(GateDefinitionVersion.team_id == TEAM)
                                 .order_by(col(GateDefinitionVersion.version))))


def _new(runtime, title="Churn model", risk="medium") -> str:
    with runtime.transaction() as session:
        return create_initiative(session, actor=actor("UBIZ"), title=title, risk_tier=risk, owners=OWNERS).key


def _submit(runtime, key) -> int:
    with runtime.transaction() as session:
        initiative = get_initiative(session, audience=EVERYONE, key=key)
        return reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative).id


def test_saving_the_same_document_makes_no_version(runtime):
    with runtime.transaction() as session:
        version, document = current_document(session, team_id=TEAM)
        assert save_definition(session, actor=ADMIN, document=document, based_on=version) is None
    assert _versions(runtime) == [1]


def test_each_edit_is_a_new_version_audited_with_before_and_after(runtime):
    with runtime.transaction() as session:
        saved = gate_edits.edit_stage(session, actor=ADMIN, based_on=1, stage_id="pilot", name="Pilot run",
                                      stall_after_days=60)
    assert (saved.previous, saved.version) == (1, 2)
    with runtime.transaction() as session:
        gate_edits.set_holidays(session, actor=ADMIN, based_on=2, holidays=[date(2026, 12, 25)])
    with runtime.read() as session:
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "gates.changed")
                             .order_by(col(AuditEvent.id))).all()
        catalog = catalog_for(session, team_id=TEAM)
    assert _versions(runtime) == [1, 2, 3]
    assert audit[0].actor == "UADMIN" and audit[0].subject_key == "v2"
    assert audit[0].before == {"version": 1, "stages.pilot.name": "Pilot", "stages.pilot.stall_after_days": 90}
    assert audit[0].after["stages.pilot.name"] == "Pilot run" and audit[0].after["stages.pilot.stall_after_days"] == 60
    assert audit[1].after["holidays"] == ["2026-12-25"]
    assert catalog.stage("pilot").name == "Pilot run" and catalog.holidays == (date(2026, 12, 25),)


def test_a_stale_edit_gets_a_conflict_and_changes_nothing(runtime):
    with runtime.transaction() as session:
        gate_edits.edit_stage(session, actor=ADMIN, based_on=1, stage_id="idea", name="Ideas", stall_after_days=None)
    with pytest.raises(Conflict) as caught, runtime.transaction() as session:
        gate_edits.edit_stage(session, actor=actor("UOTHER", admin=True), based_on=1, stage_id="idea",
                              name="Backlog", stall_after_days=None)
    assert str(caught.value) == ("Someone else changed the gate definitions (now version 2) since you opened version "
                                 "1; reopen them and make your change again.")
    with runtime.transaction() as session:
        assert catalog_for(session, team_id=TEAM).stage("idea").name == "Ideas"
    assert _versions(runtime) == [1, 2]


@pytest.mark.parametrize("edit", [
    lambda s, a: gate_edits.add_stage(s, actor=a, based_on=1, name="Review", after="pilot"),
    lambda s, a: gate_edits.remove_stage(s, actor=a, based_on=1, stage_id="scaled"),
    lambda s, a: gate_edits.set_checklists(s, actor=a, based_on=1, gate_id="idea-to-pilot",
                                           labels_by_role={"data": ["Only this"]}),
    lambda s, a: save_definition(s, actor=a, document={}, based_on=1),
])
def test_non_admins_are_refused_and_nothing_changes(runtime, edit):
    with pytest.raises(PermissionDenied) as caught, runtime.transaction() as session:
        edit(session, actor("UBIZ"))
    assert str(caught.value) == "Only an admin can change the gate definitions."
    assert _versions(runtime) == [1]
    with runtime.transaction() as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "gates.changed")).first() is None


def test_an_edit_that_breaks_a_rule_is_refused_with_the_rule(runtime):
    long_label = "x" * 76
    with pytest.raises(InvalidDefinition) as caught, runtime.transaction() as session:
        gate_edits.set_checklists(session, actor=ADMIN, based_on=1, gate_id="idea-to-pilot",
                                  labels_by_role={"data": ["Fine", long_label]})
    assert str(caught.value) == (f"That change cannot be saved: gates[0].checklist.data[1].label: '{'x' * 39}…' is "
                                 f"76 characters; Slack shows at most 75.")
    assert _versions(runtime) == [1]


def test_open_review_keeps_its_version_new_submissions_use_the_newest(runtime):
    early, late = _new(runtime, "Early"), _new(runtime, "Late")
    review_id = _submit(runtime, early)
    with runtime.transaction() as session:
        gate_edits.set_checklists(session, actor=ADMIN, based_on=1, gate_id="idea-to-pilot",
                                  labels_by_role={"business": ["Sponsor signed the charter"]})
        gate_edits.edit_stage(session, actor=ADMIN, based_on=2, stage_id="idea", name="Idea", stall_after_days=None,
                              leaving_gate=gate_edits.GateSettings(
                                  name="Pilot approval", sla_business_days=9, nudge_first_after=1, nudge_every=1,
                                  required_roles={"low": ["business"], "medium": ["business", "compliance"],
                                                  "high": ["business", "compliance"]}))
    with runtime.transaction() as session:
        review = session.get(GateReview, review_id)
        sign_offs = reviews.sign_offs_of(session, review_id=review_id)
        business = next(s for s in sign_offs if s.role == "business")
        old_items = [i.id for i in reviews.checklist_of(session, business, review)]
        assert (review.definition_version, review.sla_business_days) == (1, 5)
        assert sorted(s.role for s in sign_offs) == ["business", "data", "engineering"]
        assert old_items == ["problem-stated", "kpi-baseline-target", "owner-committed"]
    with runtime.transaction() as session:
        decision = reviews.approve(session, actor=actor("UBIZ"), sign_off_id=business.id, ticked=old_items)
        assert decision.recorded
    late_review = _submit(runtime, late)
    with runtime.transaction() as session:
        review = session.get(GateReview, late_review)
        sign_offs = reviews.sign_offs_of(session, review_id=late_review)
        business = next(s for s in sign_offs if s.role == "business")
        assert (review.definition_version, review.sla_business_days) == (3, 9)
        assert sorted(s.role for s in sign_offs) == ["business", "compliance"]
        assert [i.label for i in reviews.checklist_of(session, business, review)] == ["Sponsor signed the charter"]


def test_removing_a_stage_that_holds_initiatives_needs_a_target(runtime):
    key = _new(runtime)
    with pytest.raises(Conflict) as caught, runtime.transaction() as session:
        gate_edits.remove_stage(session, actor=ADMIN, based_on=1, stage_id="idea")
    assert str(caught.value) == ("Stage 'idea' still holds AI-1; name a stage to move them to, or move them first.")
    assert _versions(runtime) == [1]
    review_id = _submit(runtime, key)

    with runtime.transaction() as session:
        saved = gate_edits.remove_stage(session, actor=ADMIN, based_on=1, stage_id="idea", move_to="pilot")
    assert saved.moved == {key: "pilot"}
    with runtime.transaction() as session:
        initiative = get_initiative(session, audience=EVERYONE, key=key)
        catalog = catalog_for(session, team_id=TEAM)
        transition = session.get(StageTransition, initiative.current_transition_id)
        events = history(session, initiative=initiative)
        assert initiative.stage == "pilot" and catalog.first_stage().id == "pilot"
        assert [g.id for g in catalog.gates] == ["pilot-to-production", "production-to-scaled"]
        assert (transition.from_stage, transition.to_stage, transition.actor) == ("idea", "pilot", "UADMIN")
        moved = session.get(AuditEvent, transition.audit_event_id)
        assert moved.action == "stage.moved_by_gate_change" and moved in events
        assert moved.before == {"stage": "idea"} and moved.definition_version == 2
        assert session.get(GateReview, review_id).state == "cancelled"
        assert "review.cancelled" in [e.action for e in events]


def test_removing_the_target_of_an_open_review_cancels_it(runtime):
    key = _new(runtime)
    with runtime.transaction() as session:
        initiative = get_initiative(session, audience=EVERYONE, key=key)
    review_id = _submit(runtime, key)
    with runtime.transaction() as session:
        gate_edits.remove_stage(session, actor=ADMIN, based_on=1, stage_id="pilot")
        review = session.get(GateReview, review_id)
        assert review.state == "cancelled" and "'pilot' was removed" in review.close_reason
        assert session.exec(select(SignOff).where(SignOff.review_id == review_id,
                                                  SignOff.state == "pending")).first() is None
        assert get_initiative(session, audience=EVERYONE, key=key).stage == initiative.stage == "idea"
        assert catalog_for(session, team_id=TEAM).next_gate("idea").to_stage == "production"


def test_adding_and_moving_stages_keeps_every_gate_linking_neighbours(runtime):
    with runtime.transaction() as session:
        gate_edits.add_stage(session, actor=ADMIN, based_on=1, name="Limited release", after="pilot",
                             stall_after_days=30)
        catalog = catalog_for(session, team_id=TEAM)
    assert [s.id for s in catalog.stages] == ["idea", "pilot", "limited-release", "production", "scaled"]
    assert [(g.id, g.from_stage, g.to_stage) for g in catalog.gates] == [
        ("idea-to-pilot", "idea", "pilot"),
        ("pilot-to-production", "pilot", "limited-release"),
        ("limited-release-to-production", "limited-release", "production"),
        ("production-to-scaled", "production", "scaled"),
    ]
    new_gate = catalog.gate("limited-release-to-production")
    assert new_gate.name == "Production approval" and new_gate.checklist == {}
    assert new_gate.required_roles == catalog.gate("pilot-to-production").required_roles
    with runtime.transaction() as session:
        gate_edits.move_stage(session, actor=ADMIN, based_on=2, stage_id="limited-release", offset=-1)
        catalog = catalog_for(session, team_id=TEAM)
    assert [s.id for s in catalog.stages] == ["idea", "limited-release", "pilot", "production", "scaled"]
    assert [(g.from_stage, g.to_stage) for g in catalog.gates] == [
        ("idea", "limited-release"), ("limited-release", "pilot"), ("pilot", "production"), ("production", "scaled")]


def test_checklist_edit_keeps_the_ids_of_unchanged_items(runtime):
    with runtime.transaction() as session:
        gate_edits.set_checklists(session, actor=ADMIN, based_on=1, gate_id="idea-to-pilot",
                                  labels_by_role={"data": ["Data quality profiled; gaps known", "Lineage documented",
                                                           ""], "compliance": []})
        gate = catalog_for(session, team_id=TEAM).gate("idea-to-pilot")
        assert "compliance" not in gate.checklist and "business" in gate.checklist
        items = catalog_for(session, team_id=TEAM).gate("idea-to-pilot").checklist_for("data")
    assert [(i.id, i.label) for i in items] == [("quality-profiled", "Data quality profiled; gaps known"),
                                                ("lineage-documented", "Lineage documented")]
