"""The gate editor in Slack, end to end: signed requests over HTTP to the served bot, Slack's side emulated."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, select

from bot.services.gates.workspaces import catalog_for
from bot.services.initiatives.service import create_initiative
from bot.views import gates as views
from slack_emulator import validate_blocks
from slack_emulator.requests import block_actions_payload, view_submission_payload
from storage.models import GateDefinitionVersion
from tests.support.factories import actor
from tests.support.slack_app import slack_app, slack_emulator  # noqa: F401  (fixtures)

ADMIN, OTHER = "UADMIN", "UBIZ"
REFUSED = "Only an admin can change the gate definitions."


def _versions(slack_app) -> list[int]:  # noqa: F811
    with slack_app.runtime.transaction() as session:
        return list(session.exec(select(GateDefinitionVersion.version)
                                 .where(GateDefinitionVersion.team_id == slack_app.emulator.team_id)
                                 .order_by(col(GateDefinitionVersion.version))))


def _catalog(slack_app):  # noqa: F811
    with slack_app.runtime.transaction() as session:
        return catalog_for(session, team_id=slack_app.emulator.team_id)


def _click(slack_app, action_id, value, user, *, view=None):  # noqa: F811
    emulator = slack_app.emulator
    payload = block_actions_payload(action_id, value, user_id=user, team_id=emulator.team_id, view=view,
                                    trigger_id=emulator.new_trigger_id(), response_url=emulator.new_response_url())
    assert slack_app.interact(payload).status_code == 200


def _open_editor(slack_app, action_id, value, user=ADMIN) -> dict:  # noqa: F811
    before = len(slack_app.emulator.calls_to("views.open"))
    _click(slack_app, action_id, value, user)
    call = slack_app.emulator.wait_for("views.open", before + 1, timeout=10)[-1]
    return call.response["view"]


def _submit(slack_app, view, values, user=ADMIN) -> dict:  # noqa: F811
    payload = view_submission_payload(view["callback_id"], values, view["private_metadata"], user,
                                      team_id=slack_app.emulator.team_id, view=view)
    response = slack_app.interact(payload)
    assert response.status_code == 200
    return response.json() if response.content else {}


def _text(value):
    return {"value": {"type": "plain_text_input", "value": value}}


def _number(value):
    return {"value": {"type": "number_input", "value": value}}


def _options(*values):
    return {"value": {"type": "multi_static_select", "selected_options": [{"value": v} for v in values]}}


def _select(value):
    return {"value": {"type": "static_select", "selected_option": {"value": value} if value else None}}


def _notice(answer: dict) -> str:
    assert answer["response_action"] == "update"
    return answer["view"]["blocks"][0]["text"]["text"]


def _edit_buttons(blocks):
    return [b["accessory"]["value"] for b in blocks if b.get("accessory", {}).get("action_id") == views.EDIT_STAGE]


def test_gates_lists_stages_and_gives_admins_edit_buttons(slack_app):  # noqa: F811
    for_admin = slack_app.ask("gates", user_id=ADMIN)
    for_other = slack_app.ask("gates", user_id=OTHER)
    assert validate_blocks(for_admin["blocks"], "message") == []
    assert [json.loads(v)["stage_id"] for v in _edit_buttons(for_admin["blocks"])] == [
        "idea", "pilot", "production", "scaled"]
    assert _edit_buttons(for_other["blocks"]) == []
    assert not [b for b in for_other["blocks"] if b["type"] == "actions"]
    shown = "\n".join(b["text"]["text"] for b in for_other["blocks"] if b["type"] == "section")
    assert "*2. Pilot* (`pilot`) · stalled after 90 days" in shown
    assert "→ *Production readiness* to Production: low: Business owner, Data owner, Engineering owner" in shown


def test_admin_edits_a_stage_and_its_gate_in_the_modal(slack_app):  # noqa: F811
    view = _open_editor(slack_app, views.EDIT_STAGE, views.encode(views.GateFormContext(1, "pilot")))
    assert validate_blocks(view["blocks"], "modal") == []
    answer = _submit(slack_app, view, {
        views.NAME: _text("Pilot run"), views.STALL: _number("45"), views.GATE_NAME: _text("Go live"),
        views.SLA: _number("7"), views.NUDGE_FIRST: _number("1"), views.NUDGE_EVERY: _number("3"),
        "roles.low": _options("business"), "roles.medium": _options("business", "data"),
        "roles.high": _options("business", "data", "compliance")})
    assert _notice(answer) == "Saved: the gate definitions are now version 2."
    catalog = _catalog(slack_app)
    gate = catalog.gate("pilot-to-production")
    assert (catalog.stage("pilot").name, catalog.stage("pilot").stall_after_days) == ("Pilot run", 45)
    assert (gate.name, gate.sla_business_days, gate.nudge_first_after, gate.nudge_every) == ("Go live", 7, 1, 3)
    assert gate.required_roles == {"low": ("business",), "medium": ("business", "data"),
                                   "high": ("business", "data", "compliance")}


def test_non_admin_is_answered_in_a_modal_and_nothing_changes(slack_app):  # noqa: F811
    value = views.encode(views.GateFormContext(1, "pilot"))
    refusal = _open_editor(slack_app, views.EDIT_STAGE, value, user=OTHER)
    assert refusal["blocks"][0]["text"]["text"] == REFUSED
    # Even a submission of an editor opened while they were an admin changes nothing.
    editor = _open_editor(slack_app, views.EDIT_STAGE, value)
    answer = _submit(slack_app, editor, {views.NAME: _text("Hijacked")}, user=OTHER)
    assert _notice(answer) == REFUSED
    # A button inside that editor: the refusal goes on top of it (a modal cannot open another).
    _click(slack_app, views.EDIT_CHECKLISTS, value, OTHER, view=editor)
    [pushed] = slack_app.emulator.wait_for("views.push", 1, timeout=10)
    assert pushed.response["view"]["blocks"][0]["text"]["text"] == REFUSED
    assert _versions(slack_app) == [1]
    assert _catalog(slack_app).stage("pilot").name == "Pilot"


def test_the_second_of_two_admins_editing_version_1_gets_a_conflict(slack_app):  # noqa: F811
    value = views.encode(views.GateFormContext(1, "scaled"))
    first, second = _open_editor(slack_app, views.EDIT_STAGE, value), _open_editor(slack_app, views.EDIT_STAGE, value)
    assert _notice(_submit(slack_app, first, {views.NAME: _text("Scaled out")})).startswith("Saved")
    assert _notice(_submit(slack_app, second, {views.NAME: _text("At scale")})) == (
        "Someone else changed the gate definitions (now version 2) since you opened version 1; reopen them and "
        "make your change again.")
    assert _catalog(slack_app).stage("scaled").name == "Scaled out"


def test_checklists_open_on_top_and_bad_labels_come_back_under_their_role(slack_app):  # noqa: F811
    stage_view = _open_editor(slack_app, views.EDIT_STAGE, views.encode(views.GateFormContext(1, "idea")))
    _click(slack_app, views.EDIT_CHECKLISTS, views.encode(views.GateFormContext(1, "idea")), ADMIN, view=stage_view)
    pushed = slack_app.emulator.wait_for("views.push", 1, timeout=10)[0].response["view"]
    assert validate_blocks(pushed["blocks"], "modal") == []
    values = {f"checklist.{role}": _text("") for role in ("business", "data", "engineering", "compliance")}
    too_long = "Data sources identified, accessible, catalogued and their owners named in the register"
    values["checklist.data"] = _text(f"Data sources identified and accessible\n{too_long}")
    answer = _submit(slack_app, pushed, values)
    assert answer == {"response_action": "errors", "errors": {"checklist.data": (
        f"gates[0].checklist.data[1].label: '{too_long[:39]}…' is {len(too_long)} characters; Slack shows at most 75")}}
    assert _versions(slack_app) == [1]

    values["checklist.data"] = _text("Data sources identified and accessible\nLineage documented")
    answer = _submit(slack_app, pushed, values)
    assert _notice(answer) == "Saved: the gate definitions are now version 2."
    data = _catalog(slack_app).gate("idea-to-pilot").checklist_for("data")
    assert [(i.id, i.label) for i in data] == [("sources-accessible", "Data sources identified and accessible"),
                                               ("lineage-documented", "Lineage documented")]


def test_removing_an_occupied_stage_asks_where_its_initiatives_go(slack_app):  # noqa: F811
    team = slack_app.emulator.team_id
    with slack_app.runtime.transaction() as session:
        key = create_initiative(session, actor=actor("UBIZ", team_id=team), title="Invoice matching").key
    stage_view = _open_editor(slack_app, views.EDIT_STAGE, views.encode(views.GateFormContext(1, "idea")))
    _click(slack_app, views.REMOVE_STAGE, views.encode(views.GateFormContext(1, "idea")), ADMIN, view=stage_view)
    confirm = slack_app.emulator.wait_for("views.push", 1, timeout=10)[0].response["view"]

    answer = _submit(slack_app, confirm, {views.MOVE_TO: _select(None)})
    assert answer == {"response_action": "errors", "errors": {views.MOVE_TO: (
        f"Stage 'idea' still holds {key}; name a stage to move them to, or move them first.")}}
    answer = _submit(slack_app, confirm, {views.MOVE_TO: _select("pilot")})
    assert _notice(answer) == f"Saved: the gate definitions are now version 2.\n{key} moved to pilot."
    assert [s.id for s in _catalog(slack_app).stages] == ["pilot", "production", "scaled"]
    history = slack_app.ask(f"history {key}", user_id="UBIZ")
    shown = "\n".join(b["text"]["text"] for b in history["blocks"] if b["type"] == "section")
    assert "AI-1 moved from idea to Pilot, as the gate definitions changed on " in shown
    assert "“stage 'idea' was removed in gate definitions v2”" in shown


@pytest.mark.parametrize(("lines", "error"), [
    ("2026-12-25\nboxing day", "'boxing day' is not a date; write one date per line as YYYY-MM-DD."),
])
def test_holidays_modal(slack_app, lines, error):  # noqa: F811
    view = _open_editor(slack_app, views.EDIT_HOLIDAYS, views.encode(views.GateFormContext(1)))
    assert _submit(slack_app, view, {views.HOLIDAYS: _text(lines)}) == {
        "response_action": "errors", "errors": {views.HOLIDAYS: error}}
    answer = _submit(slack_app, view, {views.HOLIDAYS: _text("2026-12-26\n2026-12-25")})
    assert _notice(answer) == "Saved: the gate definitions are now version 2."
    assert [d.isoformat() for d in _catalog(slack_app).holidays] == ["2026-12-25", "2026-12-26"]


def test_add_stage_and_move_it_in_the_editor(slack_app):  # noqa: F811
    view = _open_editor(slack_app, views.ADD_STAGE, views.encode(views.GateFormContext(1)))
    answer = _submit(slack_app, view, {views.NAME: _text("Limited release"), views.AFTER: _select("production"),
                                       views.STALL: _number("")})
    assert _notice(answer) == "Saved: the gate definitions are now version 2."
    assert [s.id for s in _catalog(slack_app).stages][-2:] == ["limited-release", "scaled"]

    editor = _open_editor(slack_app, views.EDIT_STAGE, views.encode(views.GateFormContext(2, "limited-release")))
    _click(slack_app, views.MOVE_EARLIER, views.encode(views.GateFormContext(2, "limited-release")), ADMIN,
           view=editor)
    updated = slack_app.emulator.wait_for("views.update", 1, timeout=10)[0]
    assert updated.params["view_id"] == editor["id"]
    assert json.loads(updated.response["view"]["private_metadata"])["version"] == 3
    assert [s.id for s in _catalog(slack_app).stages] == ["idea", "pilot", "limited-release", "production", "scaled"]


def test_admins_add_list_and_remove_in_slack(slack_app):  # noqa: F811
    refused = slack_app.ask("admins add <@UMARIA|maria>", user_id=OTHER)
    assert refused["text"] == "Only an admin can add admins."
    added = slack_app.ask("admins add <@UMARIA|maria>", user_id=ADMIN)
    assert added["text"] == "<@UMARIA> is now an admin."
    listing = slack_app.ask("admins", user_id=OTHER)["text"]
    assert listing.startswith("*Admins*\n<@UADMIN> · ADMIN_USER_IDS\n<@UMARIA> · added by <@UADMIN> on ")
    # The new admin can now open the editor.
    view = _open_editor(slack_app, views.EDIT_STAGE, views.encode(views.GateFormContext(1, "idea")), user="UMARIA")
    assert view["callback_id"] == views.STAGE_MODAL
    removed = slack_app.ask("admins remove <@UMARIA>", user_id="UMARIA")
    assert removed["text"] == "<@UMARIA> is no longer an admin."
    assert slack_app.ask("admins add maria", user_id=ADMIN)["text"].startswith(
        "Say `list`, or `add` or `remove` and mention one person")
