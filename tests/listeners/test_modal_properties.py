"""Any text typed into any of the bot's modals, read by that modal's reader and judged by its service: the only
refusal is `InvalidInput`, and what would be stored (the row and its audit event) holds no character that spoofs
display and no text longer than the input that collected it allows.

Each example writes in a transaction that is rolled back after reading back what it wrote, so examples do not
see each other; the modals are built by the same builders the listeners use, and filled the way Slack would fill
them (typed text anywhere a person types, one of the offered options where a person picks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from bot.presenters import sign_off_card
from bot.services.errors import InvalidInput
from bot.services.gate_editing import service as gate_edits
from bot.services.gates.document import LABEL_MAX
from bot.services.gates.workspaces import catalog_for
from bot.services.initiatives.service import create_initiative
from bot.services.kpis.actuals import record_actual
from bot.services.kpis.definitions import first_kpi_texts, kpis_of
from bot.services.reviews import service as reviews
from bot.services.tracked_items.conditions import parse_conditions
from bot.services.validation import (
    COMMENT,
    EVIDENCE_LINKS,
    INITIATIVE_TEXTS,
    REASON,
    RISK_TIERS,
    SPOOFING_CHARACTERS,
    TAGS,
)
from bot.views import forms, modals
from bot.views import gates as gate_views
from bot.views import kpis as kpi_views
from storage.models import AuditEvent, GateDefinitionVersion, Initiative, KpiActual, SignOff
from tests.support.factories import TEAM, actor

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}
ADMIN = actor("UADMIN", admin=True)
TRICKY = [*sorted(SPOOFING_CHARACTERS), "\u200c", "\u200d", "\u3164", "\u2800", "\x00", "\r\n", "\n", ",", " ",
          "https://", "é", "👩", "İ"]
PIECE = st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(TRICKY))
SHORT = st.lists(PIECE, max_size=40).map("".join)
LONG = st.builds(lambda piece, times: piece * times, SHORT.filter(bool),
                 st.integers(min_value=1, max_value=1200))  # around and beyond every limit
# Mostly short (a modal has several inputs, and one refused input refuses the whole submission), sometimes long,
# sometimes left empty (None, as Slack sends an optional input nobody typed into).
TYPED = st.integers(min_value=0, max_value=9).flatmap(lambda n: LONG if n == 0 else st.one_of(st.none(), SHORT))
NUMBER = st.integers(min_value=0, max_value=9).flatmap(
    lambda n: TYPED if n == 0 else st.integers(min_value=0, max_value=70).map(str))
PROPERTIES = settings(max_examples=40, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class _Undo(Exception):
    """Rolls an example's transaction back once what it wrote has been read."""


def written(runtime, write: Callable[[Session], Any], read: Callable[[Session], list[Any]]) -> list[Any] | None:
    """What `write` would store, read back from the database by `read`; None when the input was refused."""
    try:
        with runtime.transaction() as session:
            write(session)
            session.flush()
            session.expire_all()
            raise _Undo(read(session))
    except InvalidInput:
        event("refused")
        return None
    except _Undo as undo:
        event("stored")
        return undo.args[0]


PICKED_DAY = st.dates(min_value=date.today() - timedelta(days=366),
                      max_value=date.today() + timedelta(days=731)).map(date.isoformat)


def filled(view: dict[str, Any], data: st.DataObject) -> dict[str, dict[str, dict[str, Any]]]:
    """`view.state.values` for a modal: typed text in every text or number input, an offered option (or none)
    in every select, a few of the offered boxes ticked (also boxes outside input blocks, which Slack hands in
    too)."""
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for block in view["blocks"]:
        for element in block["elements"] if block["type"] == "actions" else ():
            if element["type"] == "checkboxes":
                some = st.lists(st.sampled_from(element["options"]), unique_by=str)
                values[block["block_id"]] = {element["action_id"]: {
                    "type": "checkboxes", "selected_options": data.draw(st.one_of(st.just(element["options"]), some))}}
        if block["type"] != "input":
            continue
        element = block["element"]
        kind = element["type"]
        if kind == "plain_text_input":
            state = {"value": data.draw(TYPED)}
        elif kind == "number_input":
            state = {"value": data.draw(NUMBER)}
        elif kind in ("checkboxes", "multi_static_select"):
            options = element["options"]
            some = st.lists(st.sampled_from(options), unique_by=str)
            state = {"selected_options": data.draw(st.one_of(st.just(options), some))}
        elif kind == "static_select":
            state = {"selected_option": data.draw(st.one_of(st.none(), st.sampled_from(element["options"])))}
        elif kind == "users_select":
            state = {"selected_user": data.draw(st.sampled_from([None, "UBIZ", "UDATA"]))}
        elif kind == "datepicker":  # none picked, or any day from last year to two years on
            state = {"selected_date": data.draw(st.one_of(st.none(), PICKED_DAY))}
        elif kind == "conversations_select":
            state = {"selected_conversation": data.draw(st.sampled_from([None, "C0ANNOUNCE"]))}
        elif kind == "rich_text_input":  # typed text, maybe with a mention of a person in it
            typed = [{"type": "text", "text": data.draw(TYPED) or ""}]
            person = data.draw(st.sampled_from([None, "UBIZ"]))
            mention = [{"type": "user", "user_id": person}] if person else []
            state = {"rich_text_value": {"type": "rich_text", "elements": [
                {"type": "rich_text_section", "elements": typed + mention + typed}]}}
        else:
            raise AssertionError(f"no strategy for a {kind} input")
        values[block["block_id"]] = {element["action_id"]: {"type": kind, **state}}
    return values


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from strings_in(key)
            yield from strings_in(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from strings_in(inner)


def assert_clean(*stored: Any) -> None:
    spoofed = [text for text in strings_in(list(stored)) if SPOOFING_CHARACTERS & set(text)]
    assert not spoofed


def last_audit(session: Session) -> dict[str, Any]:
    event = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    return {"before": event.before, "after": event.after} if event else {}


@pytest.fixture
def sign_off_ids(runtime) -> dict[str, int]:
    """An initiative under review: each role's pending sign-off."""
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ"), title="Churn model", owners=OWNERS)
        review = reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative)
        return {s.role: s.id for s in reviews.sign_offs_of(session, review_id=review.id)}


@PROPERTIES
@given(data=st.data())
def test_the_new_initiative_modal(runtime, data) -> None:
    with runtime.transaction() as session:
        view = modals.new_initiative(catalog_for(session, team_id=TEAM), risk_tiers=RISK_TIERS)
    answers = forms.read_new_initiative(filled(view, data))

    def write(session: Session) -> None:
        create_initiative(session, actor=actor("UBIZ"), owners=answers.owners, channel_id=answers.channel_id,
                          tags=answers.tags, **answers.fields)

    def read(session: Session) -> list[Any]:
        initiative = session.exec(select(Initiative).order_by(col(Initiative.id).desc())).one()
        first_kpi = next(iter(kpis_of(session, initiative_id=initiative.id)), None)
        return [{**initiative.model_dump(), **first_kpi_texts(first_kpi)}, last_audit(session)]

    stored = written(runtime, write, read)
    if stored is None:
        return
    initiative, audit = stored
    assert_clean(initiative, audit)
    for name, field in INITIATIVE_TEXTS.items():
        assert len(initiative[name] or "") <= field.limit, name  # mlflow_model: None when empty
    assert len(",".join(initiative["tags"])) <= TAGS.limit


@pytest.fixture
def kpi_initiative_id(runtime) -> int:
    """An initiative with one KPI, Monthly churn in %."""
    with runtime.transaction() as session:
        return create_initiative(session, actor=actor("UBIZ"), title="Churn model", owners=OWNERS,
                                 kpi_name="Monthly churn", kpi_baseline="4.2%", kpi_target="3.5%").id


@PROPERTIES
@given(data=st.data())
def test_the_kpi_modal(runtime, kpi_initiative_id, data) -> None:
    with runtime.transaction() as session:
        view = kpi_views.record_modal(session.get(Initiative, kpi_initiative_id),
                                      kpis_of(session, initiative_id=kpi_initiative_id), today=date(2026, 12, 7))
    answers = forms.read_kpi(filled(view, data))

    def write(session: Session) -> None:
        record_actual(session, actor=actor("UBIZ"), initiative=session.get(Initiative, kpi_initiative_id),
                      value=answers.value, position=answers.position, measured_on=answers.measured_on,
                      today=date(2030, 12, 31), note=answers.note)

    def read(session: Session) -> list[Any]:
        return [session.exec(select(KpiActual)).one().model_dump(), last_audit(session)]

    stored = written(runtime, write, read)
    if stored is None:
        return
    actual, audit = stored
    assert_clean(actual, audit)
    assert len(actual["note"]) <= REASON.limit


@PROPERTIES
@given(data=st.data())
def test_the_checklist_modal(runtime, sign_off_ids, data) -> None:
    with runtime.transaction() as session:
        view = modals.checklist(sign_off_card(session, session.get(SignOff, sign_off_ids["data"]),
                                              default_zone=runtime.settings.default_zone))
    answers = forms.read_checklist(filled(view, data))

    def write(session: Session) -> None:
        conditions = parse_conditions(answers.condition_lines, today=date(2026, 12, 7))
        reviews.approve(session, actor=actor("UDATA"), sign_off_id=sign_off_ids["data"], ticked=answers.ticked,
                        waivers=answers.waivers, comment=answers.comment, evidence_links=answers.evidence_links,
                        conditions=conditions)

    def read(session: Session) -> list[Any]:
        return [session.get(SignOff, sign_off_ids["data"]).model_dump(), last_audit(session)]

    stored = written(runtime, write, read)
    if stored is None:
        return
    sign_off, audit = stored
    assert sign_off["state"] == "approved"
    assert_clean(sign_off, audit)
    assert len(sign_off["comment"] or "") <= COMMENT.limit
    assert all(len(reason) <= REASON.limit for reason in sign_off["waivers"].values())
    assert len("\n".join(sign_off["evidence_links"])) <= EVIDENCE_LINKS.limit
    assert all(0 < len(condition["text"]) <= 500 and condition["owner"] in ("UDATA", "UBIZ")
               for condition in sign_off["conditions"])


@PROPERTIES
@given(data=st.data())
def test_the_request_changes_modal(runtime, sign_off_ids, data) -> None:
    with runtime.transaction() as session:
        view = modals.request_changes(sign_off_card(session, session.get(SignOff, sign_off_ids["engineering"]),
                                                    default_zone=runtime.settings.default_zone))
    reason = forms.read_reason(filled(view, data))

    def write(session: Session) -> None:
        reviews.request_changes(session, actor=actor("UENG"), sign_off_id=sign_off_ids["engineering"], reason=reason)

    def read(session: Session) -> list[Any]:
        return [session.get(SignOff, sign_off_ids["engineering"]).model_dump(), last_audit(session)]

    stored = written(runtime, write, read)
    if stored is None:
        return
    sign_off, audit = stored
    assert sign_off["state"] == "changes_requested"
    assert_clean(sign_off, audit)
    assert 0 < len(sign_off["comment"]) <= REASON.limit


Write = Callable[[Session], Any]


def edit_stage(view: dict[str, Any], values: forms.StateValues) -> Write:
    name, stall, gate = gate_views.read_stage(values)
    return lambda session: gate_edits.edit_stage(session, actor=ADMIN, based_on=1, stage_id="idea", name=name,
                                                 stall_after_days=stall, leaving_gate=gate)


def set_checklists(view: dict[str, Any], values: forms.StateValues) -> Write:
    labels = gate_views.read_checklists(values)
    gate_id = gate_views.decode(view["private_metadata"]).gate_id
    return lambda session: gate_edits.set_checklists(session, actor=ADMIN, based_on=1, gate_id=gate_id,
                                                     labels_by_role=labels)


def add_stage(view: dict[str, Any], values: forms.StateValues) -> Write:
    name, after, stall = gate_views.read_new_stage(values)
    return lambda session: gate_edits.add_stage(session, actor=ADMIN, based_on=1, name=name, after=after,
                                                stall_after_days=stall)


def set_holidays(view: dict[str, Any], values: forms.StateValues) -> Write:
    dates = gate_views.read_holidays(values)
    return lambda session: gate_edits.set_holidays(session, actor=ADMIN, based_on=1, holidays=dates)


# Each gate editor modal: its builder, and its reader turned into the service call its listener makes.
GATE_MODALS: dict[str, tuple[Callable[..., dict[str, Any]], Callable[[dict[str, Any], forms.StateValues], Write]]] = {
    "stage": (lambda catalog: gate_views.stage_modal(catalog, "idea"), edit_stage),
    "checklists": (lambda catalog: gate_views.checklists_modal(catalog, "idea"), set_checklists),
    "add stage": (gate_views.add_stage_modal, add_stage),
    "holidays": (gate_views.holidays_modal, set_holidays),
}


@pytest.mark.parametrize("modal", list(GATE_MODALS))
@PROPERTIES
@given(data=st.data())
def test_the_gate_editor_modals(runtime, modal, data) -> None:
    build, submission = GATE_MODALS[modal]
    with runtime.transaction() as session:
        view = build(catalog_for(session, team_id=TEAM))
    try:
        write = submission(view, filled(view, data))  # the modal's reader refuses some text before any service
    except InvalidInput:
        return

    def read(session: Session) -> list[Any]:
        newest = session.exec(select(GateDefinitionVersion).where(GateDefinitionVersion.team_id == TEAM)
                              .order_by(col(GateDefinitionVersion.version).desc())).first()
        return [newest.definition, last_audit(session)]

    stored = written(runtime, write, read)
    if stored is None:
        return
    definition, audit = stored
    assert_clean(definition, audit)
    labels = [s["name"] for s in definition["stages"]] + [g["name"] for g in definition["gates"]] + [
        item["label"] for g in definition["gates"] for items in g.get("checklist", {}).values() for item in items]
    assert all(0 < len(label) <= LABEL_MAX for label in labels)
