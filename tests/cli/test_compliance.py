"""`initiative-bot compliance report` on a portfolio whose cells are met, waived, open, not applicable and
unclassified, in each format, on a real database (both backends)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from sqlmodel import select

from bot.cli import main
from bot.services.access.visibility import Audience
from bot.services.initiatives.service import create_initiative, set_confidential
from bot.services.regulation import service as regulation
from bot.services.regulation.compliance import initiatives_for_report
from bot.services.regulation.controls import REGULATED_GATES
from bot.services.reviews.service import approve, sign_offs_of, submit_for_next_gate
from storage.models import ChecklistWaiver, Initiative
from tests.support.factories import TEAM, actor

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG", "compliance": "UCOMP"}
EVIDENCE = "https://wiki.example.com/risk-register"


def classify(session, initiative, **chosen: str) -> None:
    questionnaire = regulation.questionnaire_for(session, team_id=TEAM)
    answers = {q.id: "no" for q in questionnaire.questions} | {k.replace("_", "-"): v for k, v in chosen.items()}
    regulation.classify(session, actor=actor("UBIZ"), initiative=initiative, answers=answers,
                        version=questionnaire.version)


@pytest.fixture
def portfolio(runtime, capsys):
    """AI-1 high risk past its pilot gate (Art. 9 met with evidence, Art. 10 waived, the rest open); AI-2
    minimal; AI-3 not classified."""
    assert main(["gates", "import", str(REGULATED_GATES)]) == 0
    with runtime.transaction() as session:
        screening = create_initiative(session, actor=actor("UBIZ"), title="CV screening", owners=OWNERS)
        classify(session, screening, annex3_employment="yes")
        review = submit_for_next_gate(session, actor=actor("UBIZ"), initiative=screening)
        decisions = {
            "business": {"ticked": ["problem-stated", "intended-purpose"]},
            "data": {"waivers": {"data-governance": "public benchmark data only in the pilot"}},
            "engineering": {},
            "compliance": {"ticked": ["risk-management", "rights-impact"], "evidence_links": [EVIDENCE]},
        }
        for sign_off in sign_offs_of(session, review_id=review.id):
            approve(session, actor=actor(sign_off.assignee), sign_off_id=sign_off.id, **decisions[sign_off.role])
        minimal = create_initiative(session, actor=actor("UBIZ"), title="Invoice OCR", owners=OWNERS)
        classify(session, minimal)
        create_initiative(session, actor=actor("UBIZ"), title="Not screened yet", owners=OWNERS)
    capsys.readouterr()
    return runtime


def report(capsys, *args: str) -> str:
    assert main(["compliance", "report", *args]) == 0
    return capsys.readouterr().out


def test_the_report_has_every_kind_of_cell_and_a_summary_by_tier_and_framework_in_each_format(portfolio, capsys):
    data = json.loads(report(capsys, "--format", "json"))

    cells = {row["key"]: row["cells"] for row in data["initiatives"]}
    assert cells["AI-1"]["EU-AI-ACT:Art.9"] == {"state": "met", "item": "idea-to-pilot/risk-management",
                                                "by": "UCOMP", "at": cells["AI-1"]["EU-AI-ACT:Art.9"]["at"],
                                                "evidence": [EVIDENCE], "reason": None, "expires_on": None}
    assert cells["AI-1"]["EU-AI-ACT:Art.10"]["state"] == "waived"
    assert cells["AI-1"]["EU-AI-ACT:Art.10"]["reason"] == "public benchmark data only in the pilot"
    with portfolio.read() as session:
        expires_on = session.exec(select(ChecklistWaiver.expires_on)).one()
    assert cells["AI-1"]["EU-AI-ACT:Art.10"]["expires_on"] == expires_on.isoformat()
    assert cells["AI-1"]["EU-AI-ACT:Art.72"]["state"] == "open"
    assert cells["AI-2"]["EU-AI-ACT:Art.9"]["state"] == "not applicable"
    assert cells["AI-2"]["NIST-AI-RMF:MAP-1.1"]["state"] == "open"  # applies to minimal too
    assert {cell["state"] for cell in cells["AI-3"].values()} == {"unclassified"}
    summary = {(s["tier"], s["framework"]): s for s in data["summary"]}
    assert summary[("high", "EU-AI-ACT")]["met"] == 2  # Art. 9 and Art. 27
    assert summary[("high", "EU-AI-ACT")]["waived"] == 1
    assert summary[("high", "EU-AI-ACT")]["open"] == 9
    assert data["reviewed_by_counsel"] is False and "not legal advice" in data["disclaimer"]

    # CSV and Markdown show the same cells, filtered by framework and tier.
    rows = list(csv.DictReader(io.StringIO(report(capsys, "--format", "csv", "--framework", "EU-AI-ACT",
                                                  "--tier", "high"))))
    assert {row["initiative"] for row in rows} == {"AI-1"} and {row["framework"] for row in rows} == {"EU-AI-ACT"}
    art9 = next(row for row in rows if row["control"] == "EU-AI-ACT:Art.9")
    assert (art9["state"], art9["by"], art9["evidence"]) == ("met", "UCOMP", EVIDENCE)

    text = report(capsys)
    assert "(**not reviewed by counsel**)" in text and "| high | EU-AI-ACT | 2 | 1 | 9 | 0 | 0 |" in text
    assert "| EU-AI-ACT:Art.10 Training, validation and test data governed for quality and bias | waived | " \
           "idea-to-pilot/data-governance, by UDATA" in text
    assert "## AI-3 Not screened yet" in text and "No control applies until it is classified." in text


def test_a_waiver_past_its_expiry_no_longer_covers_its_control(portfolio, capsys):
    with portfolio.transaction() as session:
        waiver = session.exec(select(ChecklistWaiver)).one()
        waiver.expires_on = date.today() - timedelta(days=1)
    data = json.loads(report(capsys, "--format", "json"))
    art10 = {row["key"]: row["cells"] for row in data["initiatives"]}["AI-1"]["EU-AI-ACT:Art.10"]
    assert art10["state"] == "open"


def test_the_report_asks_the_visibility_rule_and_the_command_line_sees_as_an_admin(portfolio, capsys):
    with portfolio.transaction() as session:
        ocr = session.exec(select(Initiative).where(Initiative.title == "Invoice OCR")).one()
        set_confidential(session, actor=actor("UADMIN", admin=True), initiative=ocr, confidential=True)

    data = json.loads(report(capsys, "--format", "json"))
    assert [row["key"] for row in data["initiatives"]] == ["AI-1", "AI-2", "AI-3"]  # the CLI acts as an admin

    with portfolio.read() as session:  # the same query, asked for someone the rule keeps out
        outsider = initiatives_for_report(session, audience=Audience.person(team_id=TEAM, user_id="UOUT"))
        owner = initiatives_for_report(session, audience=Audience.person(team_id=TEAM, user_id="UDATA"))
    assert [i.key for i in outsider] == ["AI-1", "AI-3"]
    assert [i.key for i in owner] == ["AI-1", "AI-2", "AI-3"]
