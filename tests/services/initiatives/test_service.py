"""Initiatives: validation, permissions and lifecycle, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.services.access.visibility import Audience
from bot.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.services.initiatives.service import (
    assign_owners,
    create_initiative,
    edit_initiative,
    get_initiative,
    history,
    list_initiatives,
    owners_of,
)
from bot.services.reviews import service as lifecycle
from bot.services.reviews import service as reviews
from storage.models import AuditEvent, GateReview, Initiative, StageTransition
from tests.support.factories import TEAM, actor, kpi_texts

EVERYONE = Audience.workspace(team_id=TEAM)  # who reads: anyone in the test workspace

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}


def _create(runtime, by="UANYONE", **kwargs):
    kwargs.setdefault("title", "Demand forecasting")
    with runtime.transaction() as session:
        return create_initiative(session, actor=actor(by), **kwargs).key


def _get(session, key):
    return get_initiative(session, audience=EVERYONE, key=key)


@pytest.mark.parametrize(("fields", "message"), [
    ({"title": "   "}, "title is required"),
    ({"title": "x" * 151}, "151 characters"),
    ({"risk_tier": "extreme"}, "Risk must be one of low, medium, high"),
    ({"owners": {"legal": "U1"}}, "'legal' is not a role"),
    ({"owners": {"data": "maria"}}, "not a Slack user"),
    ({"kpi_baseline": "9" * 101}, "KPI baseline"),
])
def test_create_refuses_bad_input_and_writes_nothing(runtime, fields, message):
    with pytest.raises(InvalidInput, match=message):
        _create(runtime, **{"title": "Valid", **fields})
    with runtime.transaction() as session:
        assert session.exec(select(Initiative)).all() == []
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "initiative.created")).all() == []


def test_anyone_creates_and_it_starts_in_the_first_stage(runtime):
    key = _create(runtime, by="UNEWBIE", title="  Churn   model ", owners=OWNERS, tags=["Retail", "retail "])
    with runtime.transaction() as session:
        initiative = _get(session, key)
        assert (key, initiative.title, initiative.stage, initiative.status) == ("AI-1", "Churn model", "idea", "active")
        assert initiative.tags == ["retail"]
        assert owners_of(session, initiative_id=initiative.id) == OWNERS
        created = history(session, initiative=initiative)[0]
        assert (created.action, created.actor) == ("initiative.created", "UNEWBIE")


def test_unknown_key_is_a_clear_not_found(runtime):
    with runtime.transaction() as session, pytest.raises(NotFound, match="no initiative AI-42"):
        _get(session, "AI-42")
    with runtime.transaction() as session, pytest.raises(InvalidInput, match="keys look like AI-12"):
        _get(session, "<!channel>")


@pytest.mark.parametrize("doing", ["owners", "submit", "pause", "edit"])
def test_only_owners_creator_or_admins_manage(runtime, doing):
    key = _create(runtime, by="UCREATOR", owners=OWNERS)

    def attempt(user, admin=False):
        who = actor(user, admin=admin)
        with runtime.transaction() as session:
            initiative = _get(session, key)
            if doing == "owners":
                assign_owners(session, actor=who, initiative=initiative, owners={"sponsor": "USPONSOR"})
            elif doing == "submit":
                reviews.submit_for_next_gate(session, actor=who, initiative=initiative)
            elif doing == "pause":
                lifecycle.pause(session, actor=who, initiative=initiative)
            else:
                edit_initiative(session, actor=who, initiative=initiative, title="Renamed")

    with pytest.raises(PermissionDenied, match="owners or an admin"):
        attempt("USTRANGER")
    with runtime.transaction() as session:
        initiative = _get(session, key)
        assert (initiative.status, initiative.title) == ("active", "Demand forecasting")
        assert session.exec(select(GateReview)).all() == []
    attempt("UADMIN", admin=True)


@pytest.mark.parametrize("user", ["UCREATOR", "UDATA"])
def test_owners_and_creator_may_pause_and_resume(runtime, user):
    key = _create(runtime, by="UCREATOR", owners=OWNERS)
    with runtime.transaction() as session:
        lifecycle.pause(session, actor=actor(user), initiative=_get(session, key), reason="budget freeze")
    with runtime.transaction() as session, pytest.raises(Conflict, match="paused, not active"):
        lifecycle.pause(session, actor=actor(user), initiative=_get(session, key))
    with runtime.transaction() as session:
        lifecycle.resume(session, actor=actor(user), initiative=_get(session, key))
    with runtime.read() as session:
        assert _get(session, key).status == "active"
        actions = [e.action for e in history(session, initiative=_get(session, key))]
    assert actions[-2:] == ["initiative.paused", "initiative.active"]


def test_retire_is_for_admins_needs_a_reason_and_cancels_the_open_review(runtime):
    key = _create(runtime, owners=OWNERS)
    with runtime.transaction() as session:
        reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=_get(session, key))
    with runtime.transaction() as session, pytest.raises(PermissionDenied, match="Only an admin"):
        lifecycle.retire(session, actor=actor("UBIZ"), initiative=_get(session, key), reason="killed")
    with runtime.transaction() as session, pytest.raises(InvalidInput, match="reason"):
        lifecycle.retire(session, actor=actor("UADMIN", admin=True), initiative=_get(session, key), reason="")
    with runtime.transaction() as session:
        lifecycle.retire(session, actor=actor("UADMIN", admin=True), initiative=_get(session, key),
                         reason="merged into AI-7")
    with runtime.transaction() as session:
        initiative = _get(session, key)
        assert (initiative.status, initiative.retired_reason) == ("retired", "merged into AI-7")
        assert session.exec(select(GateReview)).one().state == "cancelled"
        assert list_initiatives(session, audience=EVERYONE) == []
        assert [i.key for i in list_initiatives(session, audience=EVERYONE, statuses=("retired",))] == [key]


def test_going_back_a_stage_is_an_audited_admin_action(runtime):
    key = _create(runtime, owners=OWNERS)
    with runtime.transaction() as session:
        initiative = _get(session, key)
        lifecycle.move_stage(session, actor=actor("UADMIN", admin=True), initiative=initiative, to_stage="pilot",
                             reason="piloted before the bot existed")
    with runtime.transaction() as session, pytest.raises(PermissionDenied):
        lifecycle.move_stage(session, actor=actor("UBIZ"), initiative=_get(session, key), to_stage="idea",
                             reason="oops")
    with runtime.transaction() as session:
        back = lifecycle.move_stage(session, actor=actor("UADMIN", admin=True), initiative=_get(session, key),
                                    to_stage="idea", reason="data access withdrawn")
        audit = session.get(AuditEvent, back.audit_event_id)
        assert (back.from_stage, back.to_stage, back.review_id) == ("pilot", "idea", None)
        assert (audit.action, audit.actor, audit.after["reason"]) == ("stage.moved_by_admin", "UADMIN",
                                                                      "data access withdrawn")
        assert len(session.exec(select(StageTransition)).all()) == 3


def test_list_filters_by_stage_and_by_owner(runtime):
    _create(runtime, owners=OWNERS, title="One")
    second = _create(runtime, owners={"business": "UOTHER"}, title="Two")
    with runtime.transaction() as session:
        lifecycle.move_stage(session, actor=actor("UADMIN", admin=True), initiative=_get(session, second),
                             to_stage="pilot", reason="imported")
        assert [i.title for i in list_initiatives(session, audience=EVERYONE, stage="pilot")] == ["Two"]
        assert [i.title for i in list_initiatives(session, audience=EVERYONE, owner="UDATA")] == ["One"]
        assert len(list_initiatives(session, audience=EVERYONE)) == 2


def test_every_stored_text_drops_the_characters_that_spoof_display(runtime):
    spoof = "\u202e\u2066\u200b\u2060\ufeff"
    key = _create(runtime, title=f"{spoof}Churn model", description=f"d{spoof}", problem=f"p{spoof}",
                  kpi_name=f"k{spoof}", kpi_baseline=f"1{spoof}", kpi_target=f"2{spoof}", business_unit=f"b{spoof}",
                  tags=[f"t{spoof}", spoof], owners=OWNERS)
    with runtime.transaction() as session:
        initiative = _get(session, key)
        edit_initiative(session, actor=actor("UBIZ"), initiative=initiative, kpi_target=f"3{spoof}%")
        lifecycle.pause(session, actor=actor("UBIZ"), initiative=initiative, reason=f"budget{spoof}")
    assert tuple(kpi_texts(runtime, initiative).values()) == ("k", "1", "3%")
    with runtime.transaction() as session:
        initiative = _get(session, key)
        assert (initiative.title, initiative.description, initiative.problem, initiative.business_unit,
                initiative.tags) == ("Churn model", "d", "p", "b", ["t"])
        audited = [(event.before, event.after) for event in history(session, initiative=initiative)]
    assert not [pair for pair in audited if set(spoof) & set(str(pair))]
    assert audited[-1][1] == {"status": "paused", "reason": "budget"}


@pytest.mark.parametrize(("change", "message"), [
    ({"kpi_baseline": "9" * 101}, "The KPI baseline is 101 characters long; keep it within 100."),
    ({"tags": ["t" * 501]}, "The tags are 501 characters long together; keep them within 500."),
    ({"channel_id": "#general"}, "'#general' is not a channel"),
    ({"title": "\u200b"}, "A title is required."),
])
def test_an_edit_meets_the_same_limits_as_the_new_initiative_modal(runtime, change, message):
    key = _create(runtime, owners=OWNERS)
    with pytest.raises(InvalidInput, match=message) as refused, runtime.transaction() as session:
        edit_initiative(session, actor=actor("UBIZ"), initiative=_get(session, key), **change)
    assert refused.value.field == next(iter(change))
    with runtime.transaction() as session:
        assert _get(session, key).title == "Demand forecasting"


def test_a_pause_reason_has_the_reason_limit(runtime):
    key = _create(runtime, owners=OWNERS)
    with pytest.raises(InvalidInput) as refused, runtime.transaction() as session:
        lifecycle.pause(session, actor=actor("UBIZ"), initiative=_get(session, key), reason="r" * 501)
    assert str(refused.value) == "The reason is 501 characters long; keep it within 500."
    with runtime.transaction() as session:
        assert _get(session, key).status == "active"
