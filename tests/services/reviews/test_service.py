"""Gate reviews end to end through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from bot.services.access.people import record_profile
from bot.services.access.visibility import Audience
from bot.services.errors import Conflict, InvalidInput, PermissionDenied
from bot.services.initiatives.service import create_initiative, get_initiative
from bot.services.reviews import service as lifecycle
from bot.services.reviews import service as reviews
from bot.services.tracked_items.conditions import DraftCondition
from storage.models import AuditEvent, GateReview, SignOff, StageTransition, TrackedItem
from storage.types import utcnow
from tests.support.factories import TEAM, actor

EVERYONE = Audience.workspace(team_id="T0TEST")  # who reads: anyone in the test workspace

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}


def _new(runtime, *, risk="medium", owners=OWNERS, title="Fraud scoring"):
    with runtime.transaction() as session:
        return create_initiative(session, actor=actor("UBIZ"), title=title, risk_tier=risk, owners=owners).key


def _submit(runtime, key, by="UBIZ"):
    with runtime.transaction() as session:
        initiative = get_initiative(session, audience=EVERYONE, key=key)
        review = reviews.submit_for_next_gate(session, actor=actor(by), initiative=initiative)
        return review.id, {s.role: s.id for s in reviews.sign_offs_of(session, review_id=review.id)}


def _approve(runtime, sign_off_id, user, **kwargs):
    with runtime.transaction() as session:
        sign_off = session.get(SignOff, sign_off_id)
        review = session.get(GateReview, sign_off.review_id)
        items = [i.id for i in reviews.checklist_of(session, sign_off, review)]
        kwargs.setdefault("ticked", items)
        return reviews.approve(session, actor=actor(user), sign_off_id=sign_off_id, **kwargs)


def test_gate_passes_when_every_required_role_approves(runtime):
    key = _new(runtime)
    review_id, sign_offs = _submit(runtime, key)
    assert set(sign_offs) == {"business", "data", "engineering"}

    assert not _approve(runtime, sign_offs["business"], "UBIZ").gate_passed
    assert not _approve(runtime, sign_offs["data"], "UDATA").gate_passed
    final = _approve(runtime, sign_offs["engineering"], "UENG")

    assert final.recorded and final.gate_passed
    with runtime.transaction() as session:
        initiative = get_initiative(session, audience=EVERYONE, key=key)
        assert initiative.stage == "pilot"
        assert session.get(GateReview, review_id).state == "passed"
        transitions = session.exec(select(StageTransition).where(StageTransition.initiative_id == initiative.id)
                                   .order_by(StageTransition.at)).all()
        assert [(t.from_stage, t.to_stage) for t in transitions] == [(None, "idea"), ("idea", "pilot")]
        assert transitions[-1].review_id == review_id
        assert initiative.current_transition_id == transitions[-1].id


def test_high_risk_needs_compliance(runtime):
    key = _new(runtime, risk="high")
    with pytest.raises(InvalidInput, match="compliance owner"):
        _submit(runtime, key)
    with runtime.transaction() as session:
        assert session.exec(select(GateReview)).all() == []


def test_submit_refuses_missing_owner_and_second_open_review(runtime):
    key = _new(runtime, owners={"business": "UBIZ", "data": "UDATA"})
    with pytest.raises(InvalidInput, match=r"engineering owner.*owners AI-1 engineering=@someone"):
        _submit(runtime, key)
    with runtime.transaction() as session:
        from bot.services.initiatives.service import assign_owners

        assign_owners(session, actor=actor("UBIZ"), initiative=get_initiative(session, audience=EVERYONE, key=key),
                      owners={"engineering": "UENG"})
    _submit(runtime, key)
    with pytest.raises(Conflict, match="already has an open review"):
        _submit(runtime, key)


def test_repeated_approve_records_one_decision(runtime):
    key = _new(runtime)
    _, sign_offs = _submit(runtime, key)
    first = _approve(runtime, sign_offs["business"], "UBIZ")
    again = _approve(runtime, sign_offs["business"], "UBIZ", comment="clicked twice")
    assert first.recorded and not again.recorded
    assert again.sign_off.state == "approved" and again.sign_off.decided_by == "UBIZ"
    assert again.sign_off.decided_at == first.sign_off.decided_at
    with runtime.transaction() as session:
        approvals = session.exec(select(AuditEvent).where(AuditEvent.action == "signoff.approved")).all()
        assert len(approvals) == 1
        assert session.get(SignOff, sign_offs["business"]).comment is None


def test_checklist_must_be_ticked_or_waived_with_reason(runtime):
    key = _new(runtime)
    _, sign_offs = _submit(runtime, key)
    with pytest.raises(reviews.ChecklistIncomplete) as refused:
        _approve(runtime, sign_offs["business"], "UBIZ", ticked=["problem-stated"],
                 waivers={"owner-committed": "  "})
    assert set(refused.value.problems) == {"kpi-baseline-target", "owner-committed"}
    decision = _approve(runtime, sign_offs["business"], "UBIZ", ticked=["problem-stated", "owner-committed"],
                        waivers={"kpi-baseline-target": "Baseline comes from the pilot itself"})
    assert decision.sign_off.waivers == {"kpi-baseline-target": "Baseline comes from the pilot itself"}
    assert decision.sign_off.ticked == ["owner-committed", "problem-stated"]


def test_only_the_role_owner_decides(runtime):
    key = _new(runtime)
    _, sign_offs = _submit(runtime, key)
    with pytest.raises(PermissionDenied, match="business owner"):
        _approve(runtime, sign_offs["business"], "UDATA")
    with pytest.raises(PermissionDenied):
        _approve(runtime, sign_offs["business"], "UADMIN")  # admins waive, they do not approve for others
    with runtime.transaction() as session:
        assert session.get(SignOff, sign_offs["business"]).state == "pending"


def test_request_changes_closes_review_and_resubmission_starts_afresh(runtime):
    key = _new(runtime)
    review_id, sign_offs = _submit(runtime, key)
    _approve(runtime, sign_offs["business"], "UBIZ")
    with runtime.transaction() as session, pytest.raises(InvalidInput, match="reason"):
        reviews.request_changes(session, actor=actor("UDATA"), sign_off_id=sign_offs["data"], reason=" ")
    with runtime.transaction() as session:
        reviews.request_changes(session, actor=actor("UDATA"), sign_off_id=sign_offs["data"],
                                reason="No data-sharing agreement yet")
    with runtime.transaction() as session:
        assert session.get(GateReview, review_id).state == "changes_requested"
        assert session.get(SignOff, sign_offs["engineering"]).state == "cancelled"
        assert get_initiative(session, audience=EVERYONE, key=key).stage == "idea"
    late = _approve(runtime, sign_offs["engineering"], "UENG")
    assert not late.recorded and late.sign_off.state == "cancelled"

    new_review_id, _ = _submit(runtime, key)
    assert new_review_id != review_id
    with runtime.transaction() as session:
        states = {s.role: s.state for s in reviews.sign_offs_of(session, review_id=new_review_id)}
    assert states == {"business": "pending", "data": "pending", "engineering": "pending"}


def test_reassigning_an_owner_moves_the_pending_sign_off(runtime):
    key = _new(runtime)
    _, sign_offs = _submit(runtime, key)
    with runtime.transaction() as session:
        from bot.services.initiatives.service import assign_owners

        initiative = get_initiative(session, audience=EVERYONE, key=key)
        assign_owners(session, actor=actor("UBIZ"), initiative=initiative, owners={"data": "UNEWDATA"})
    with pytest.raises(PermissionDenied):
        _approve(runtime, sign_offs["data"], "UDATA")
    assert _approve(runtime, sign_offs["data"], "UNEWDATA").recorded


def test_admin_waiver_counts_as_approval_and_non_admins_cannot_waive(runtime):
    key = _new(runtime)
    _, sign_offs = _submit(runtime, key)
    with runtime.transaction() as session, pytest.raises(PermissionDenied):
        reviews.waive(session, actor=actor("UBIZ"), sign_off_id=sign_offs["data"], reason="n/a")
    with runtime.transaction() as session:
        reviews.waive(session, actor=actor("UADMIN", admin=True), sign_off_id=sign_offs["data"],
                      reason="Data owner on leave; covered by CDO")
    _approve(runtime, sign_offs["business"], "UBIZ")
    assert _approve(runtime, sign_offs["engineering"], "UENG").gate_passed


def test_paused_initiative_cannot_be_submitted_or_decided(runtime):
    key = _new(runtime)
    _, sign_offs = _submit(runtime, key)
    with runtime.transaction() as session:
        lifecycle.pause(session, actor=actor("UBIZ"), initiative=get_initiative(session, audience=EVERYONE, key=key))
    with pytest.raises(Conflict, match="paused"):
        _approve(runtime, sign_offs["business"], "UBIZ")


def test_open_review_pinned_to_its_definition_version(runtime):
    """A new definition version (fewer items) does not change the checklist of an open review."""
    from storage.models import GateDefinitionVersion

    key = _new(runtime)
    _, sign_offs = _submit(runtime, key)
    with runtime.transaction() as session:
        from bot.services.gates.workspaces import latest_definition

        document = dict(latest_definition(session, team_id="T0TEST").definition)
        gates = [dict(g) for g in document["gates"]]
        gates[0] = {**gates[0], "checklist": {**gates[0]["checklist"], "business": [{"id": "x", "label": "X"}]}}
        session.add(GateDefinitionVersion(team_id="T0TEST", version=2, definition={**document, "gates": gates},
                                          created_by="UADMIN"))
    with pytest.raises(reviews.ChecklistIncomplete):
        _approve(runtime, sign_offs["business"], "UBIZ", ticked=[])
    decision = _approve(runtime, sign_offs["business"], "UBIZ")  # ticks the pinned v1 items
    assert decision.recorded and "kpi-baseline-target" in decision.sign_off.ticked
    assert decision.review.definition_version == 1


def test_a_conditions_default_due_date_is_counted_from_the_day_the_gate_passes_in_its_owners_zone(runtime):
    with runtime.transaction() as session:
        record_profile(session, team_id=TEAM, user_id="UDATA", tz="Pacific/Kiritimati", now=utcnow())  # UTC+14
        record_profile(session, team_id=TEAM, user_id="UENG", tz="Pacific/Pago_Pago", now=utcnow())  # UTC-11
    _, sign_offs = _submit(runtime, _new(runtime))
    _approve(runtime, sign_offs["business"], "UBIZ")
    _approve(runtime, sign_offs["data"], "UDATA")
    # Tuesday 10:30 UTC: already Wednesday in Kiritimati, still Monday in Pago Pago.
    passed_at = datetime(2027, 3, 2, 10, 30, tzinfo=UTC)
    conditions = [DraftCondition("Retraining pipeline", owner="UDATA"), DraftCondition("DPIA signed", owner="UENG"),
                  DraftCondition("Runbook", owner="UBIZ")]
    assert _approve(runtime, sign_offs["engineering"], "UENG", conditions=conditions, now=passed_at).gate_passed
    with runtime.transaction() as session:
        due = {item.owner: item.due_on for item in session.exec(select(TrackedItem))}
    # 10 business days (the gate's default) after each owner's own date; UBIZ's zone is unknown: UTC.
    assert due == {"UDATA": date(2027, 3, 17), "UENG": date(2027, 3, 15), "UBIZ": date(2027, 3, 16)}
