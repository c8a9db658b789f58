"""The compliance reply stays within a message's limits, with what a reader needs for each state."""

from __future__ import annotations

from datetime import UTC, date, datetime

from slack_sdk.models.blocks import Block

from bot.services.regulation.compliance import Cell, ComplianceReport, Row
from bot.services.regulation.controls import Control
from bot.views.regulation import compliance_reply


def report(cells: dict[str, Cell], tier: str | None = "high") -> ComplianceReport:
    controls = tuple(Control(ref, f"Title of {ref}", ("high",), None) for ref in cells)
    return ComplianceReport(as_of=date(2026, 12, 7), catalog_version=1, reviewed_by_counsel=False, controls=controls,
                            rows=(Row("AI-1", "CV screening", tier, "high", cells),))


def test_met_waived_and_open_controls_each_say_what_stands_behind_them():
    at = datetime(2026, 12, 1, 10, tzinfo=UTC)
    text, blocks = compliance_reply(report({
        "EU-AI-ACT:Art.9": Cell("met", "idea-to-pilot/risk-management", "UCOMP", at, ("https://wiki.example.com/r",)),
        "EU-AI-ACT:Art.10": Cell("waived", "idea-to-pilot/data-governance", "UDATA", at, reason="pilot data only"),
        "EU-AI-ACT:Art.72": Cell("open"),
        "EU-AI-ACT:Art.50": Cell("not applicable", reason="for limited only"),
    }))

    shown = str(blocks)
    assert text == "Compliance of AI-1: 1 met, 1 waived, 1 open, 1 not applicable."
    assert "`idea-to-pilot/risk-management`, by <@UCOMP>" in shown and "https://wiki.example.com/r" in shown
    assert "“pilot data only”" in shown and "*EU-AI-ACT:Art.72* Title of EU-AI-ACT:Art.72" in shown
    assert "Art.50" not in shown  # not applicable: counted, not listed


def test_a_long_matrix_is_cut_to_fit_a_message():
    cells = {f"ISO-42001:A.{n}": Cell("open", reason="x" * 200) for n in range(600)}

    text, blocks = compliance_reply(report(cells))

    assert len(blocks) <= 50 and all(Block.parse(b).validate_json() is None for b in blocks)
    assert "cut to fit Slack" in str(blocks[-1]) and text == "Compliance of AI-1: 600 open."


def test_an_unclassified_initiative_is_asked_to_be_classified():
    text, blocks = compliance_reply(report({"EU-AI-ACT:Art.9": Cell("unclassified")}, tier=None))

    assert text == "Compliance of AI-1: not classified yet." and "/initiative classify AI-1" in str(blocks)
