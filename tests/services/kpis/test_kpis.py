"""The KPI domain below Slack: the first KPI read from the form's texts, the `kpi.recorded` webhook in its
documented schema, what waits on a business owner, the export of actuals, and the digest's value section as
Block Kit and as a chart."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jsonschema
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sqlmodel import select

from bot.services.access.visibility import Audience
from bot.services.digest.chart import _figure
from bot.services.initiatives.service import create_initiative, edit_initiative, get_initiative
from bot.services.kpis.actuals import record_actual
from bot.services.kpis.definitions import define_kpi, kpis_of
from bot.services.kpis.scheduled import kpi_updates_due
from bot.services.kpis.value import ValueRow
from bot.services.portfolio_io.service import export_kpi_rows
from bot.services.reviews import service as lifecycle
from bot.services.webhooks.service import WebhookEvents, add_endpoint
from bot.views.digest import digest_blocks
from slack_emulator import validate_blocks
from storage.models import WebhookDelivery
from tests.services.digest.reports import report
from tests.support.factories import TEAM, actor

EVERYONE = Audience.workspace(team_id=TEAM)
SCHEMA = json.loads((Path(__file__).parents[3] / "docs" / "webhook-events.schema.json").read_text())
TODAY = datetime.now(UTC).date()


def _kpi(runtime, key="AI-1"):  # type: ignore[no-untyped-def]
    with runtime.read() as session:
        [kpi] = kpis_of(session, initiative_id=get_initiative(session, audience=EVERYONE, key=key).id)
        return kpi


FORM_TEXTS = {  # baseline and target as typed -> the numbers read from them, unit, direction
    ("4.2%", "3.5%"): (4.2, 3.5, "%", "lower"),
    ("EUR 1200", "2000 EUR"): (1200.0, 2000.0, "EUR", "higher"),
    ("about 400", "150"): (None, 150.0, "", "higher"),
    ("400 h", "150 min"): (None, None, "", "higher"),  # units disagree: the texts only
}


def test_the_forms_kpi_texts_become_the_first_kpi_with_numbers_only_where_unambiguous_and_edits_follow(runtime):
    with runtime.transaction() as session:
        for baseline, target in FORM_TEXTS:
            create_initiative(session, actor=actor("UMARIA"), title=f"Model {baseline}", kpi_name="Monthly churn",
                              kpi_baseline=baseline, kpi_target=target, owners={"business": "UMARIA"})
    for number, ((baseline, target), numbers) in enumerate(FORM_TEXTS.items(), start=1):
        kpi = _kpi(runtime, f"AI-{number}")
        assert (kpi.name, kpi.baseline_text, kpi.target_text) == ("Monthly churn", baseline, target)
        assert (kpi.baseline, kpi.target, kpi.unit, kpi.direction) == numbers
    with runtime.transaction() as session:
        edit_initiative(session, actor=actor("UMARIA"), initiative=get_initiative(session, audience=EVERYONE,
                                                                                  key="AI-1"), kpi_target="3%")
    kpi = _kpi(runtime)
    assert (kpi.target_text, kpi.target, kpi.baseline) == ("3%", 3.0, 4.2)


def test_a_recorded_actual_is_sent_as_kpi_recorded_in_the_documented_schema(runtime):
    runtime.event_handlers.append(WebhookEvents())
    with runtime.transaction() as session:
        add_endpoint(session, actor=actor("UADMIN", admin=True), settings=runtime.settings,
                     url="https://hooks.example.com/kpis", events=["kpi.recorded"])
        initiative = create_initiative(session, actor=actor("UMARIA"), title="Invoice OCR",
                                       owners={"business": "UMARIA", "sponsor": "UCARL"})
        define_kpi(session, actor=actor("UMARIA"), initiative=initiative, name="Cost saved", baseline="0 EUR",
                   target="EUR 10000", target_date=date(2027, 6, 30))
    for value in ("4000", "4500 EUR"):  # the second corrects the first: same date
        with runtime.transaction() as session:
            initiative = get_initiative(session, audience=EVERYONE, key="AI-1")
            record_actual(session, actor=actor("UCARL"), initiative=initiative, value=value, measured_on=TODAY,
                          today=TODAY, note="from finance")
    with runtime.read() as session:
        payloads = [row.payload for row in session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id))]
    for payload in payloads:
        jsonschema.validate(payload, SCHEMA)
    assert [(p["type"], p["data"]["actual"]["value"], p["data"]["actual"]["corrected"]) for p in payloads] == [
        ("kpi.recorded", 4000.0, False), ("kpi.recorded", 4500.0, True)]
    assert payloads[0]["data"]["kpi"] == {"name": "Cost saved", "unit": "EUR", "direction": "higher",
                                          "baseline": 0.0, "target": 10000.0, "target_date": "2027-06-30"}
    with runtime.read() as session:
        [row] = export_kpi_rows(session, audience=EVERYONE)
    assert {k: row[k] for k in ("key", "kpi", "unit", "measured_on", "value", "note", "recorded_by")} == {
        "key": "AI-1", "kpi": "Cost saved", "unit": "EUR", "measured_on": TODAY.isoformat(), "value": "4500",
        "note": "from finance", "recorded_by": "UCARL"}


def test_kpi_updates_wait_on_the_business_owner_of_a_live_initiative_once_its_period_is_over(runtime):
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=actor("UMARIA"), title="Churn model", kpi_name="Churn",
                                       kpi_baseline="4.2%", kpi_target="3.5%",
                                       owners={"business": "UMARIA", "data": "UDEV"})
        create_initiative(session, actor=actor("UMARIA"), title="Idea only", kpi_name="Churn",
                          owners={"business": "UMARIA"})
        lifecycle.move_stage(session, actor=actor("UADMIN", admin=True), initiative=initiative,
                             to_stage="production", reason="go-live")
        went_live = initiative.stage_entered_at.date()  # not TODAY: the clock may have passed midnight since
    with runtime.read() as session:
        assert kpi_updates_due(session, team_id=TEAM, user_ids=["UMARIA"], today=went_live + timedelta(days=29)) == []
        [due] = kpi_updates_due(session, team_id=TEAM, user_ids=["UMARIA"], today=went_live + timedelta(days=30))
        assert (due.key, due.kpi_names, due.due_on) == ("AI-1", ("Churn",), went_live + timedelta(days=30))
        assert kpi_updates_due(session, team_id=TEAM, user_ids=["UDEV"], today=went_live + timedelta(days=30)) == []


def _row(number: int, status: str, latest: float | None, unit: str = "%") -> ValueRow:
    return ValueRow(key=f"AI-{number}", title=f"Initiative {number} " + "x" * 50, stage_name="Production",
                    kpi_name=f"KPI {number}", unit=unit, direction="higher", status=status, latest=latest,
                    latest_on=TODAY if latest is not None else None, baseline=10.0, target=20.0,
                    delivered=None)


VALUED = replace(report([("Idea", 1, 1, 0), ("Production", 12, 12, 0)], {"Idea": (1,) * 12, "Production": (12,) * 12}),
                 value=tuple(_row(n, ("on_track", "off_track", "no_data")[n % 3], 10.0 + n) for n in range(12)))


def test_the_value_section_is_valid_block_kit_and_lists_every_kpi_in_sections_of_ten():
    blocks = [block.to_dict() for block in digest_blocks(VALUED)]
    assert validate_blocks(blocks, "message") == []
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    start = next(i for i, text in enumerate(texts) if text.startswith("*Value in Production and later*"))
    value = "\n".join(texts[start:start + 2])
    assert value.startswith("*Value in Production and later* — 4 on track · 4 off track · 4 no data.")
    assert "🟢 *AI-3* Initiative 3" in value
    assert all(f"*AI-{n}* Initiative {n}" in value for n in range(12))  # 12 KPIs: the head's section and one more


def test_the_chart_shows_up_to_ten_kpis_against_their_target_below_the_funnel():
    figure = _figure(VALUED, plt)
    figure.canvas.draw()
    try:
        _funnel, _trend, kpis = figure.axes
        labels = [label.get_text() for label in kpis.get_yticklabels()]
        assert labels == [f"AI-{n} KPI {n}" for n in range(10)]  # the first on top; two beyond ten left out
        assert "19% (target 20%)" in [text.get_text() for text in kpis.texts]
    finally:
        plt.close(figure)
