"""Authorization swaps against `serve`: a correctly signed request from the wrong person, carrying ids that
belong to someone else (issue 22). Each is refused with one clear message where the person would see it, and
nothing is written: no decision, no audit event, no new gate definitions, no Slack message queued. A request
about another workspace than the bot token's is not served at all.

The guard is the services' own check of the acting person (`_require_decider`, `require_admin`): what a button
or a modal's `private_metadata` carries names what to change, never who may change it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from bot.listeners.middleware import OTHER_WORKSPACE
from bot.views import gates as gate_views
from bot.views import ids
from slack_emulator import TEAM_ID
from slack_emulator.requests import post_signed, slash_command_body, ticked_all
from storage.db import make_engine
from storage.models import AuditEvent, GateDefinitionVersion, OutboxMessage, SignOff
from tests.security.conftest import ADMIN, Target, button_value, open_review
from tests.support.slack_app import SIGNING_SECRET

OTHER_TEAM = "T0OTHER"


@dataclass(frozen=True)
class Written:
    """What a request could have written, counted."""

    audit_events: int
    gate_versions: int
    outbox_messages: int
    decided_sign_offs: int

    @classmethod
    def now(cls, target: Target) -> Written:
        return cls(target.count(AuditEvent), target.count(GateDefinitionVersion), target.count(OutboxMessage),
                   target.count(SignOff, SignOff.state != "pending"))


def test_an_owner_submitting_her_checklist_with_anothers_sign_off_id_is_refused(target: Target) -> None:
    review = open_review(target, "Metadata swapped")
    devs_sign_off = button_value(review.request_dm(target, "UDEV"), ids.APPROVE)
    erins_modal = target.checklist_opened_by("UERIN", review.request_dm(target, "UERIN"))
    swapped = ids.encode_modal_context(ids.SignOffModalContext(sign_off_id=int(devs_sign_off)))
    before = Written.now(target)

    answer = target.submit(erins_modal, ticked_all(erins_modal), user="UERIN", private_metadata=swapped)

    assert answer["response_action"] == "update"
    assert f"Only the data owner of {review.key} can decide this sign-off." in str(answer["view"]["blocks"])
    assert Written.now(target) == before


def test_an_outsider_submitting_a_checklist_for_an_owners_sign_off_is_refused(target: Target) -> None:
    review = open_review(target, "Outsider submits")
    dm = review.request_dm(target, "UDEV")
    modal = target.checklist_opened_by("UDEV", dm)  # the owner's own form, replayed by someone else
    before = Written.now(target)

    answer = target.submit(modal, ticked_all(modal), user="UOTTO")

    assert answer["response_action"] == "update"
    assert f"Only the data owner of {review.key} can decide this sign-off." in str(answer["view"]["blocks"])
    assert Written.now(target) == before


def test_a_click_carrying_anothers_sign_off_id_is_refused_privately_and_opens_nothing(target: Target) -> None:
    review = open_review(target, "Button swapped")
    devs_sign_off = button_value(review.request_dm(target, "UDEV"), ids.APPROVE)
    erins_dm = review.request_dm(target, "UERIN")
    opened = len(target.emulator.calls_to("views.open"))
    before = Written.now(target)

    response_url = target.click(ids.APPROVE, devs_sign_off, user="UERIN", dm=erins_dm)

    [answer] = target.emulator.wait_for_responses(response_url)
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert answer["text"] == f"Only the data owner of {review.key} can decide this sign-off."
    assert len(target.emulator.calls_to("views.open")) == opened
    assert Written.now(target) == before


def test_a_forged_gate_editor_submission_by_a_non_admin_is_refused(target: Target) -> None:
    version = _gates_in_use(target)
    before = Written.now(target)

    answer = _forge_holidays(target, version, "2031-12-24", user="UMARIA")

    assert answer["response_action"] == "update"
    assert "Only an admin can change the gate definitions." in str(answer["view"]["blocks"])
    assert Written.now(target) == before


def test_the_same_forged_gate_editor_submission_by_an_admin_is_saved(target: Target) -> None:
    """The control for the test above: the very same form is refused for who sent it, not for how it looks."""
    version = _gates_in_use(target)

    answer = _forge_holidays(target, version, "2032-12-24", user=ADMIN)

    assert f"Saved: the gate definitions are now version {version + 1}." in str(answer["view"]["blocks"])
    assert _newest_version(target) == version + 1


def test_the_admins_submission_naming_another_workspace_is_refused_in_one_log_line(target: Target) -> None:
    """ADMIN_USER_IDS are admins of the token's workspace (learned from auth.test when serve starts) only; a
    request about another workspace is not served with this workspace's token at all."""
    version = _gates_in_use(target)
    before = Written.now(target)
    calls = len(target.emulator.calls)
    log = target.log_window()

    answer = _forge_holidays(target, version, "2033-12-24", user=ADMIN, team_id=OTHER_TEAM)
    command = post_signed(target.events_url, slash_command_body(text="list", user_id=ADMIN, team_id=OTHER_TEAM),
                          SIGNING_SECRET)

    assert answer == {} and command.text == OTHER_WORKSPACE
    assert Written.now(target) == before and _newest_version(target) == version
    assert len(target.emulator.calls) == calls  # nothing sent to Slack on the other workspace's behalf
    refusals = [line for line in log.lines if "refused a" in line]
    assert len(refusals) == 2 and all(OTHER_TEAM in line and "WARNING" in line for line in refusals), log.lines


def _gates_in_use(target: Target) -> int:
    """The newest version of the workspace's gate definitions, which exist once a review has opened."""
    open_review(target, "Gates in use")
    return _newest_version(target)


def _forge_holidays(target: Target, version: int, holiday: str, *, user: str,
                    team_id: str = TEAM_ID) -> dict[str, Any]:
    """The holidays editor's submission, callback id and metadata written by hand: no one opened this modal."""
    metadata = gate_views.encode(gate_views.GateFormContext(version=version))
    values = {gate_views.HOLIDAYS: {gate_views.VALUE: {"type": "plain_text_input", "value": holiday}}}
    return target.submit({"callback_id": gate_views.HOLIDAYS_MODAL}, values, user=user, private_metadata=metadata,
                         team_id=team_id)


def _newest_version(target: Target) -> int:
    engine = make_engine(target.database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.max(GateDefinitionVersion.version))).scalar_one()
    finally:
        engine.dispose()
