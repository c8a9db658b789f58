"""`/initiative history` tells what happened in sentences, never in raw event names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.services.gates.catalog import GateCatalog, default_document
from bot.views.history import event_sentence
from bot.views.plain_text import Reader, render_mrkdwn
from storage.models import AuditEvent

CATALOG = GateCatalog.from_document(default_document(), version=1)
AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
READER = Reader(people={"U0MARIA": "Maria", "U0DEV": "Dev", "U0ENG": "Eng"})


def said(action: str, subject_key: str = "AI-1", *, actor: str = "U0MARIA", before: dict[str, Any] | None = None,
         after: dict[str, Any] | None = None) -> str:
    event = AuditEvent(id=1, team_id="T1", at=AT, actor=actor, action=action, subject_type="x",
                       subject_key=subject_key, before=before, after=after)
    return render_mrkdwn(event_sentence(event, CATALOG, "AI-1"), READER)


def test_each_kind_of_change_reads_as_a_sentence_with_who_and_when() -> None:
    on = "on Dec 3, 2026 at 09:00 UTC"
    assert said("signoff.approved", "AI-1/idea-to-pilot/data", actor="U0DEV",
                after={"comment": "Fine by me", "waivers": {"x": "n/a"}}) == (
        f"@Dev approved Pilot approval as Data owner, waiving 1 checklist item {on}: “Fine by me”.")
    assert said("signoff.changes_requested", "AI-1/idea-to-pilot/engineering", actor="U0ENG",
                after={"comment": "No rollback <plan>"}) == (
        f"@Eng requested changes at Pilot approval as Engineering owner {on}: “No rollback <plan>”.")
    assert said("initiative.created", after={"stage": "idea"}) == f"@Maria recorded AI-1 in Idea {on}."
    assert said("review.opened", "AI-1/idea-to-pilot", after={"roles": ["business", "data"]}) == (
        f"@Maria submitted AI-1 for Pilot approval, asking the Business owner and Data owner to sign off {on}.")
    assert said("gate.passed", "AI-1/idea-to-pilot", before={"stage": "idea"}, after={"stage": "pilot"}) == (
        f"AI-1 passed Pilot approval and moved from Idea to Pilot {on}.")
    assert said("owners.changed", before={"data": "U0DEV"}, after={"data": "U0ENG"}) == (
        f"@Maria changed the owners of AI-1: Data owner @Dev → @Eng {on}.")
    assert said("initiative.edited", after={"kpi_target": "3%", "title": "x"}) == (
        f"@Maria changed the KPI target, title of AI-1 {on}.")
    assert said("initiative.paused", after={"reason": "budget"}) == f"@Maria paused AI-1 {on}: “budget”."
    assert said("initiative.active") == f"@Maria resumed AI-1 {on}."
    assert said("stage.moved_by_admin", actor="cli:ada", before={"stage": "pilot"}, after={"stage": "idea"}) == (
        f"ada (command line) moved AI-1 from Pilot to Idea {on}.")
    assert said("something.new_kind", actor="system") == f"The bot something new kind {on}."


def test_no_sentence_shows_a_raw_event_name() -> None:
    for action in ("initiative.created", "signoff.approved", "signoff.waived", "review.cancelled", "gate.passed",
                   "initiative.retired", "stage.moved_by_gate_change"):
        sentence = said(action, "AI-1/idea-to-pilot/data", before={"stage": "idea"}, after={"stage": "pilot"})
        assert action not in sentence and "_" not in sentence, sentence
