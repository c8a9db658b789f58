"""Modal submissions are judged by the server too: each input over its max_length, in every modal, gets the same
field error a person would, and nothing is stored; text that spoofs display is stored without it. The forged
submissions of issue 22 (188,890 characters of tags, a title of only U+200B, U+202E in every field) are sent to a
running `serve` in tests/security/test_forged_submissions.py."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bot.views import gates, ids
from slack_emulator.requests import button, ticked_all
from storage.models import AuditEvent, GateDefinitionVersion, Initiative, SignOff
from tests.listeners.conftest import Slack
from tests.listeners.test_sign_off_round_trip import open_review, request_dm


def text(value: str) -> dict[str, Any]:
    return {ids.VALUE: {"type": "plain_text_input", "value": value}}


def text_inputs(modal: dict[str, Any]) -> dict[str, int]:
    """Each plain-text input of a modal as Slack rendered it: block id -> its max_length."""
    return {block["block_id"]: block["element"]["max_length"] for block in modal["blocks"]
            if block["type"] == "input" and block["element"]["type"] == "plain_text_input"}


def new_initiative_modal(slack: Slack) -> dict[str, Any]:
    slack.command("new", opens_modal=True)
    modal = slack.opened_modal()
    assert modal["callback_id"] == ids.NEW_INITIATIVE_MODAL
    return modal


def stored(runtime) -> tuple[list[Initiative], int]:
    """The initiatives, and how many audit events there are."""
    with runtime.transaction() as session:
        return list(session.exec(select(Initiative))), len(session.exec(select(AuditEvent)).all())


def test_every_new_initiative_input_over_its_max_length_is_refused_under_that_input(slack: Slack, runtime) -> None:
    modal = new_initiative_modal(slack)
    before = stored(runtime)
    limits = text_inputs(modal)
    assert {"title", "description", "problem", "kpi_name", "kpi_baseline", "kpi_target", "tags",
            "business_unit"} <= set(limits)
    for block_id, limit in limits.items():
        values = {"title": text("Valid title"), block_id: text("x" * (limit + 1))}
        answer = slack.submit(modal, values, user="UMARIA")
        assert answer["response_action"] == "errors", (block_id, answer)
        assert list(answer["errors"]) == [block_id]
        assert f"{limit + 1} characters long" in answer["errors"][block_id]
        assert f"within {limit}." in answer["errors"][block_id]
    assert stored(runtime) == before
    # Exactly at the limit is accepted: the server and the modal agree on the number.
    at_limit = {block_id: text("y" * limit) for block_id, limit in limits.items()}
    assert slack.submit(modal, at_limit, user="UMARIA")["response_action"] == "update"
    [initiative], _ = stored(runtime)
    assert len(initiative.title) == limits["title"] and initiative.tags == ["y" * limits["tags"]]


def checklist_modal(slack: Slack, user: str) -> dict[str, Any]:
    dm = request_dm(slack, user)
    slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user=user, message=dm, channel=dm["channel"])
    modal = slack.opened_modal()
    assert modal["callback_id"] == ids.CHECKLIST_MODAL
    return modal


def waive_all(modal: dict[str, Any]) -> dict[str, Any]:
    [block] = [b for b in modal["blocks"] if b.get("block_id") == ids.WAIVE_BLOCK]
    return {ids.VALUE: {"type": "multi_static_select", "selected_options": block["element"]["options"]}}


def test_oversize_checklist_inputs_are_refused_under_their_input_and_nothing_is_decided(slack: Slack,
                                                                                        runtime) -> None:
    open_review(slack)
    modal = checklist_modal(slack, "UDEV")
    limits = text_inputs(modal)
    waiver = ids.WAIVE_REASON_BLOCK
    cases = {
        ids.COMMENT_BLOCK: ("c" * (limits[ids.COMMENT_BLOCK] + 1),
                            f"The comment is 3001 characters long; keep it within {limits[ids.COMMENT_BLOCK]}."),
        ids.EVIDENCE_BLOCK: ("\n".join(f"https://wiki.example.com/{'p' * 400}/{n}" for n in range(8)),
                             f"keep them within {limits[ids.EVIDENCE_BLOCK]}."),
        waiver: ("w" * (limits[waiver] + 1), f"Keep the waiver reason within {limits[waiver]} characters."),
    }
    for block_id, (value, says) in cases.items():
        values = ticked_all(modal) | {block_id: text(value)}
        if block_id == waiver:  # every item waived instead of ticked, so that the reason counts
            values = {ids.WAIVE_BLOCK: waive_all(modal), waiver: text(value)}
        answer = slack.submit(modal, values, user="UDEV")
        assert answer["response_action"] == "errors" and list(answer["errors"]) == [block_id], answer
        assert says in answer["errors"][block_id]
    with runtime.transaction() as session:
        assert {s.role: s.state for s in session.exec(select(SignOff))}["data"] == "pending"
    # The comment a person typed is stored without what spoofs display.
    values = ticked_all(modal) | {ids.COMMENT_BLOCK: text("Looks \u202egood\u200b")}
    assert slack.submit(modal, values, user="UDEV") == {}
    with runtime.transaction() as session:
        data = next(s for s in session.exec(select(SignOff)) if s.role == "data")
    assert (data.state, data.comment) == ("approved", "Looks good")


def test_an_oversize_reason_for_changes_is_refused_under_the_reason(slack: Slack, runtime) -> None:
    open_review(slack)
    dm = request_dm(slack, "UERIN")
    slack.click(ids.REQUEST_CHANGES, button(dm, ids.REQUEST_CHANGES)["value"], user="UERIN", message=dm,
                channel=dm["channel"])
    modal = slack.opened_modal()
    limit = text_inputs(modal)[ids.REASON_BLOCK]
    answer = slack.submit(modal, {ids.REASON_BLOCK: text("r" * (limit + 1))}, user="UERIN")
    assert answer == {"response_action": "errors", "errors": {
        ids.REASON_BLOCK: f"The reason is {limit + 1} characters long; keep it within {limit}."}}
    with runtime.transaction() as session:
        assert {s.role: s.state for s in session.exec(select(SignOff))}["engineering"] == "pending"


def test_gate_checklist_labels_are_cleaned_and_an_oversize_input_is_refused(slack: Slack, runtime) -> None:
    slack.click(gates.EDIT_CHECKLISTS, gates.encode(gates.GateFormContext(1, "idea")), user="UADMIN")
    modal = slack.opened_modal()
    assert modal["callback_id"] == gates.CHECKLISTS_MODAL
    limits = text_inputs(modal)
    block_id = gates.CHECKLIST_PREFIX + "data"
    answer = slack.submit(modal, {block_id: text("a\n" * limits[block_id])}, user="UADMIN")
    assert answer == {"response_action": "errors", "errors": {
        block_id: f"This is {2 * limits[block_id] - 1} characters long; keep it within {limits[block_id]}."}}
    answer = slack.submit(modal, {block_id: text("\u202eData sources\u200b identified\n\u200b\nLineage")},
                          user="UADMIN")
    assert answer["response_action"] == "update", answer
    with runtime.transaction() as session:
        newest = session.exec(select(GateDefinitionVersion).where(GateDefinitionVersion.version == 2)).one()
    labels = [item["label"] for gate in newest.definition["gates"] if gate["from"] == "idea"
              for item in gate["checklist"]["data"]]
    assert labels == ["Data sources identified", "Lineage"]
