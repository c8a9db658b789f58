"""Forged modal submissions sent to a running `serve` (issue 22, item 8): correctly signed `view_submission`s that
skip what Slack's own modal would check (`max_length`, visible text) get the field error a person would see, and
nothing is stored; the characters that spoof display never reach the database or anyone's screen.

The other inputs' limits, one by one, are tests/listeners/test_modal_input.py's (the same listeners, served in
the test process)."""

from __future__ import annotations

import json
from typing import Any

from bot.services.validation import SPOOFING_CHARACTERS
from bot.views import ids
from storage.models import AuditEvent, Initiative, Kpi
from tests.security.conftest import Target

SPOOFS = "".join(sorted(SPOOFING_CHARACTERS))
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want", written with a zero-width non-joiner


def text(value: str) -> dict[str, Any]:
    return {ids.VALUE: {"type": "plain_text_input", "value": value}}


def stored(target: Target) -> tuple[int, int]:
    """How many initiatives and audit events serve's database holds."""
    return target.count(Initiative), target.count(AuditEvent)


def test_forged_tags_of_188890_characters_are_refused_and_nothing_is_stored(target: Target) -> None:
    modal = target.modal_opened_by("new", user="UMARIA")
    assert modal["callback_id"] == ids.NEW_INITIATIVE_MODAL
    before = stored(target)
    tags = ", ".join(f"tag{n}" for n in range(20_000)) + ",x"
    assert len(tags) == 188_890

    answer = target.submit(modal, {"title": text("Alpha"), "tags": text(tags)}, user="UMARIA")

    assert answer == {"response_action": "errors", "errors": {
        "tags": "The tags are 168891 characters long together; keep them within 500."}}
    assert stored(target) == before


def test_a_title_with_nothing_visible_is_refused_with_what_to_do(target: Target) -> None:
    modal = target.modal_opened_by("new", user="UMARIA")
    before = stored(target)
    for title, says in (("\u200b", "A title is required."), (SPOOFS + " \u2060 ", "A title is required."),
                        ("\u3164\u200d", "The title has only invisible characters; type words people can see, "
                                         "like Churn prediction for retail.")):
        answer = target.submit(modal, {"title": text(title)}, user="UMARIA")
        assert answer == {"response_action": "errors", "errors": {"title": says}}
    assert stored(target) == before


def test_spoofing_characters_never_reach_the_database_or_anyone_s_screen(target: Target) -> None:
    modal = target.modal_opened_by("new", user="UMARIA")
    values = {
        "title": text("\u202eAlpha\u200b \u2066fraud\u2069"), "description": text("a\ufeffb\u202ac"),
        "problem": text("\u2067p\u2068"), "kpi_name": text("\u202bk\u202c"), "kpi_baseline": text("1\u2060%"),
        "kpi_target": text("\u202d2%"), "tags": text("ret\u200bail, \u202egenai"),
        "business_unit": text("Cl\u200baims"),
        **{f"owner.{role}": {ids.VALUE: {"type": "users_select", "selected_user": user}}
           for role, user in (("business", "UMARIA"), ("data", "UDEV"), ("engineering", "UERIN"))},
    }

    assert target.submit(modal, values, user="UMARIA")["response_action"] == "update"
    # Persian needs the zero-width non-joiner, and emoji sequences the joiner: both are kept.
    assert "Recorded" in target.ask(f"new {PERSIAN} 👩\u200d💻 \u202eevil")["text"]
    [alpha] = target.rows(Initiative, Initiative.title == "Alpha fraud")
    assert "Review of" in target.ask(f"submit AI-{alpha.number}")["text"]
    target.sent_everything()

    [kpi] = target.rows(Kpi, Kpi.initiative_id == alpha.id)
    assert (alpha.description, alpha.problem, kpi.name, kpi.baseline_text, kpi.target_text, alpha.tags,
            alpha.business_unit) == ("abc", "p", "k", "1%", "2%", ["genai", "retail"], "Claims")
    assert target.count(Initiative, Initiative.title == f"{PERSIAN} 👩\u200d💻 evil") == 1
    assert "Alpha fraud" in str(target.emulator.messages(target.emulator.dm_channel("UDEV")))
    shown = [json.dumps(page, ensure_ascii=False)  # repr() would escape the very characters looked for
             for page in [call.params for call in target.emulator.calls] + target.emulator.responses()]
    assert not [page for page in shown if any(ch in page for ch in SPOOFING_CHARACTERS)]
