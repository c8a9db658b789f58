"""However many checklist items a gate is allowed, the Approve modal of that role still opens in Slack."""

from __future__ import annotations

import pytest

from bot.presenters import sign_off_card
from bot.services.gate_editing import service as gate_edits
from bot.services.gate_editing.service import InvalidDefinition
from bot.services.gates.document import LABEL_MAX, MAX_CHECKLIST_ITEMS_PER_ROLE
from bot.services.initiatives.service import create_initiative
from bot.services.reviews import service as reviews
from bot.views import modals
from slack_emulator import validate_blocks
from tests.support.factories import actor

ADMIN = actor("UADMIN", admin=True)
OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}


def _labels(count: int) -> list[str]:
    return [f"{n:02d} " + "x" * (LABEL_MAX - 3) for n in range(count)]


def test_the_largest_allowed_checklist_fits_the_approve_modal(runtime):
    with runtime.transaction() as session:
        gate_edits.set_checklists(session, actor=ADMIN, based_on=1, gate_id="idea-to-pilot",
                                  labels_by_role={"business": _labels(MAX_CHECKLIST_ITEMS_PER_ROLE)})
        initiative = create_initiative(session, actor=actor("UBIZ"), title="Claims triage", owners=OWNERS)
        review = reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative)
        business = next(s for s in reviews.sign_offs_of(session, review_id=review.id) if s.role == "business")
        view = modals.checklist(sign_off_card(session, business, default_zone=runtime.settings.default_zone))
    assert validate_blocks(view["blocks"], "modal") == []
    ticked = [o["value"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
              if e["type"] == "checkboxes" for o in e["options"]]
    assert len(ticked) == MAX_CHECKLIST_ITEMS_PER_ROLE


def test_one_item_more_is_refused(runtime):
    with pytest.raises(InvalidDefinition) as caught, runtime.transaction() as session:
        gate_edits.set_checklists(session, actor=ADMIN, based_on=1, gate_id="idea-to-pilot",
                                  labels_by_role={"business": _labels(MAX_CHECKLIST_ITEMS_PER_ROLE + 1)})
    assert str(caught.value) == (f"That change cannot be saved: gate 'idea-to-pilot' gives role 'business' "
                                 f"{MAX_CHECKLIST_ITEMS_PER_ROLE + 1} checklist items; at most "
                                 f"{MAX_CHECKLIST_ITEMS_PER_ROLE} fit in the Approve modal.")
