"""`export` writes what `import` reads: exported, then imported again, nothing changes, in CSV and in XLSX."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from bot.services.access.visibility import Audience
from bot.services.initiatives.service import create_initiative
from bot.services.portfolio_io.columns import COLUMN_NAMES
from bot.services.portfolio_io.service import export_rows
from bot.services.portfolio_io.table import write_csv, write_xlsx
from storage.models import AuditEvent
from tests.services.portfolio_io.support import import_file, initiatives
from tests.support.factories import TEAM, actor, kpi_texts

EVERYONE = Audience.workspace(team_id=TEAM)


def _portfolio(runtime) -> None:
    with runtime.transaction() as session:
        create_initiative(session, actor=actor("UMARIA"), title="=HYPERLINK(\"http://evil\")", problem="Churn, rising",
                          description="Two lines\nof text; with \"quotes\"", kpi_baseline="-3%", risk_tier="high",
                          owners={"business": "UMARIA", "sponsor": "UCARL"}, channel_id="CPORT",
                          tags=["retail", "churn"], business_unit="Retail")
    import_file(runtime, "seed.csv", "title,stage,status,data_owner\nInvoice OCR,pilot,paused,UDEV\nÆble ✓,,,\n")


def _export(runtime) -> list[dict[str, str]]:
    with runtime.read() as session:
        return export_rows(session, audience=EVERYONE)


def test_the_export_has_the_import_columns_and_what_people_entered(runtime):
    _portfolio(runtime)
    rows = _export(runtime)
    assert list(rows[0]) == list(COLUMN_NAMES)
    first = rows[0]
    assert (first["key"], first["problem"], first["channel"], first["tags"]) == ("AI-1", "Churn, rising", "CPORT",
                                                                               "churn, retail")
    assert (first["business_owner"], first["sponsor"], first["data_owner"]) == ("UMARIA", "UCARL", "")
    assert (rows[1]["stage"], rows[1]["status"]) == ("pilot", "paused")


@pytest.mark.parametrize(("name", "write"), [("p.csv", write_csv), ("p.xlsx", write_xlsx)])
def test_export_then_import_is_a_no_op(runtime, name, write):
    _portfolio(runtime)
    before = [i.model_dump() for i in initiatives(runtime)]
    with runtime.read() as session:
        events = len(session.exec(select(AuditEvent)).all())
    outcome = import_file(runtime, name, write(COLUMN_NAMES, _export(runtime)))
    assert outcome.problems == []
    assert (outcome.result.created, outcome.result.updated, outcome.result.unchanged) == ([], [], 3)
    assert [i.model_dump() for i in initiatives(runtime)] == before
    with runtime.read() as session:
        assert len(session.exec(select(AuditEvent)).all()) == events


def test_a_csv_export_never_hands_excel_a_formula(runtime):
    _portfolio(runtime)
    text = write_csv(COLUMN_NAMES, _export(runtime)).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and ",'-3%," in text
    workbook = load_workbook(io.BytesIO(write_xlsx(COLUMN_NAMES, _export(runtime))))
    title = workbook.active.cell(row=2, column=COLUMN_NAMES.index("title") + 1)
    assert (title.value, title.data_type) == ('=HYPERLINK("http://evil")', "s")


def test_an_excel_workbook_is_read_with_its_dates_and_numbers_as_people_see_them(runtime):
    from datetime import datetime

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Title", "created", "kpi_target", "Stage"])
    sheet.append(["Churn model", datetime(2025, 11, 3), 12.0, "Pilot"])
    sheet.append([None, None, None, None])
    sheet.append(["Invoice OCR", "2025-12-01", 0.5, None])
    out = io.BytesIO()
    workbook.save(out)
    assert import_file(runtime, "p.xlsx", out.getvalue()).problems == []
    churn, ocr = initiatives(runtime)
    assert (churn.created_at.date().isoformat(), kpi_texts(runtime, churn)["kpi_target"], churn.stage) == (
        "2025-11-03", "12", "pilot")
    assert (kpi_texts(runtime, ocr)["kpi_target"], ocr.stage) == ("0.5", "idea")
    bad = import_file(runtime, "p.xlsx", b"not a workbook").problems
    assert bad == ["p.xlsx:1: file: not an Excel workbook (.xlsx)"]


def test_files_that_are_not_utf8_or_not_spreadsheets_are_refused_with_the_fix(runtime):
    assert import_file(runtime, "p.csv", "title\nCaf\xe9\n".encode("latin-1")).problems == [
        "p.csv:2: file: not UTF-8 text; in Excel, save as 'CSV UTF-8'"]
    assert import_file(runtime, "p.txt", "title\n").problems[0].startswith(
        "p.txt:1: file: only .csv and .xlsx files can be imported")
    assert import_file(runtime, "p.csv", "title,stage\nA,idea,extra\n").problems == [
        "p.csv:2: row: 3 cells, but the header names only 2 columns"]
