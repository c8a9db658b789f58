"""KPIs end to end: signed slash commands, clicks and modal submissions over real HTTP against the Slack
emulator, asserting on what reached Slack and the database (SQLite and PostgreSQL). Recording actuals (and bad
values), the KPI modal, `show`'s trend, the digest's value section, and the business owner's request in the
nudge sweep's one daily DM."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import select

from bot.adapters.nudges import run_sweep
from bot.cli.nudge import describe
from bot.presenters import home_view
from bot.services.access.actors import Actor
from bot.services.access.visibility import Audience
from bot.services.initiatives.service import get_initiative
from bot.services.reviews import service as lifecycle
from bot.views import ids
from slack_emulator.requests import button
from slack_emulator.workspace import TEAM_ID
from storage.models import AuditEvent, KpiActual, KpiReminder
from tests.listeners.conftest import Slack

OWNERS = "business=<@UMARIA|maria> data=<@UDEV|dev>"
ADMIN = Actor(team_id=TEAM_ID, user_id="UADMIN", is_admin=True)


def live(slack: Slack, title: str, key: str, owners: str = OWNERS) -> None:
    """An initiative owned by Maria (business) and Dev (or `owners`), put in Production by an admin."""
    assert f"Recorded *{key}*" in slack.command(f"new {title} {owners} risk=low")["text"]
    with slack.runtime.transaction() as session:
        initiative = get_initiative(session, audience=Audience.workspace(team_id=TEAM_ID), key=key)
        lifecycle.move_stage(session, actor=ADMIN, initiative=initiative, to_stage="production", reason="go-live")


def values(**inputs: Any) -> dict[str, Any]:
    """Modal state: a date picker for dates, the chosen option for `kpi_name`, plain text for the rest."""
    def state(block: str, value: Any) -> dict[str, Any]:
        if isinstance(value, date):
            return {"type": "datepicker", "selected_date": value.isoformat()}
        if block == ids.KPI_NAME_BLOCK:
            return {"type": "static_select", "selected_option": {"value": value}}
        return {"type": "plain_text_input", "value": value}
    return {block: {ids.VALUE: state(block, value)} for block, value in inputs.items()}


def actuals(slack: Slack) -> list[tuple[float, date, str, str]]:
    with slack.runtime.transaction() as session:
        return [(a.value, a.measured_on, a.note, a.recorded_by)
                for a in session.exec(select(KpiActual).order_by(KpiActual.measured_on))]


def test_owners_record_actuals_bad_values_are_refused_and_show_gives_the_trend(slack: Slack):
    live(slack, "Churn model", "AI-1")
    today = datetime.now(UTC).date()
    month_ago = today - timedelta(days=30)
    defined = slack.command('kpi AI-1 define "Monthly churn" baseline=4.2% target=3.5% by=2027-06-30')
    assert "Monthly churn: 4.2% → 3.5% (lower is better, by 30 Jun 2027)" in defined["text"]

    first = slack.command(f"kpi AI-1 4.0% {month_ago} after the November release")
    assert f"Recorded Monthly churn of AI-1 = 4% on {month_ago:%d %b %Y}" in first["text"]
    named = slack.command('kpi AI-1 "monthly churn" 3.8', user="UDEV")
    assert f"= 3.8% on {today:%d %b %Y}" in named["text"]

    for text, user, refusal in (
        ("kpi AI-1 about 4%", "UMARIA", "`about` is not a value: give a number with an optional unit or %, "
                                        "for example `3.9%`, `1200 EUR` or `350`."),
        ("kpi AI-1 1,200", "UMARIA", "`1,200` is not a value"),
        ("kpi AI-1 4 EUR", "UMARIA", "Monthly churn is measured in `%`, not `EUR`"),
        ('kpi AI-1 "Cost" 4', "UMARIA", 'There is no KPI "Cost" on this initiative. Its KPIs: "Monthly churn".'),
        (f"kpi AI-1 3.7% {today + timedelta(days=2)}", "UMARIA", "is in the future"),
        ("kpi AI-1 3.7%", "UOTHER",
         "Only AI-1's owners (or their delegates), its sponsor or an admin can record its KPIs."),
    ):
        answer = slack.command(text, user=user)["text"]
        assert refusal in answer, answer
    assert "Usage: /initiative kpi &lt;KEY&gt; &lt;value&gt; [YYYY-MM-DD] [note]" in slack.command("kpi AI-1 x")["text"]

    # The modal corrects the value of a date that has one.
    assert slack.command("kpi AI-1", opens_modal=True) == {}
    modal = slack.opened_modal()
    assert modal["callback_id"] == ids.KPI_MODAL
    bad = slack.submit(modal, values(kpi_name="0", value="lots", measured_on=month_ago), user="UMARIA")
    assert bad["response_action"] == "errors" and "`lots` is not a value" in bad["errors"]["value"]
    answer = slack.submit(modal, values(kpi_name="0", value="4.1", measured_on=month_ago, note="recounted"),
                          user="UMARIA")
    assert "= 4.1% on" in str(answer["view"]["blocks"]) and "(corrected from 4%)" in str(answer["view"]["blocks"])

    assert actuals(slack) == [(4.1, month_ago, "recounted", "UMARIA"), (3.8, today, "", "UDEV")]
    with slack.runtime.transaction() as session:
        recorded = [(e.before, e.after["value"]) for e in session.exec(
            select(AuditEvent).where(AuditEvent.action == "kpi.recorded").order_by(AuditEvent.id))]
    assert recorded == [(None, 4.0), (None, 3.8), ({"value": 4.0}, 4.1)]

    shown = str(slack.command("show AI-1")["blocks"])
    assert "Monthly churn: 4.2% → 3.5% (lower is better, by 30 Jun 2027)" in shown
    assert (f"Monthly churn: 3.8% on {today:%d %b %Y}, target 3.5%: off track · trend 4.1% → 3.8%") in shown
    history = str(slack.command("history AI-1")["blocks"])
    assert "set AI-1's KPI Monthly churn: 4.2% → 3.5%, lower is better" in history
    assert f"<@UMARIA> recorded Monthly churn of AI-1 = 4.1%, measured {month_ago} (corrected from 4%)" in history


def test_the_digest_gives_each_live_kpi_on_track_off_track_or_no_data_and_the_value_delivered(slack: Slack):
    today = datetime.now(UTC).date()
    for key, title in (("AI-1", "Churn model"), ("AI-2", "Invoice OCR"), ("AI-3", "Fraud rules")):
        live(slack, title, key)
    slack.command('kpi AI-1 define "Monthly churn" baseline=4.2% target=3.5%')
    slack.command('kpi AI-2 define "Cost saved" baseline=0 EUR target=EUR 10000')
    slack.command('kpi AI-2 define "Hours saved" baseline=0 target=400')
    slack.command('kpi AI-3 define "Losses avoided" baseline=EUR 100 target=EUR 5000')
    slack.command("kpi AI-1 3.4%")
    slack.command('kpi AI-2 "Cost saved" 4000 EUR')
    slack.command('kpi AI-2 "Hours saved" 120')
    slack.command(f'kpi AI-3 "Losses avoided" 2100 {today - timedelta(days=60)}')  # older than 45 days
    assert "Recorded *AI-4*" in slack.command(f"new Idea only {OWNERS}")["text"]  # not live: not in the section

    preview = slack.command("digest", user="UMARIA")["text"]

    assert ("Value in Production and later — 1 on track · 2 off track · 1 no data. Value delivered: 6,000 EUR "
            "(2 KPIs).") in preview  # (4,000 - 0) + (2,100 - 100): the stale one's latest value counts too
    assert f"AI-1 Churn model — Monthly churn 3.4% ({today.isoformat()}), target 3.5%: on track" in preview
    assert f"AI-2 Invoice OCR — Cost saved 4,000 EUR ({today.isoformat()}), target 10,000 EUR: off track" in preview
    assert f"AI-2 Invoice OCR — Hours saved 120 ({today.isoformat()}), target 400: off track" in preview
    assert (f"AI-3 Fraud rules — Losses avoided 2,100 EUR ({(today - timedelta(days=60)).isoformat()}), "
            f"target 5,000 EUR: no data") in preview
    assert "Idea only" not in preview.split("Value in Production")[1].split("Stalled")[0]


def test_the_business_owner_is_asked_once_per_period_in_the_one_daily_dm_and_records_from_the_button(
        slack: Slack):
    live(slack, "Churn model", "AI-1")
    slack.command('kpi AI-1 define "Monthly churn" baseline=4.2% target=3.5%')
    # Maria also has a sign-off waiting (AI-2's review); Otto owns a live initiative and nothing else.
    assert "Recorded *AI-2*" in slack.command(f"new Invoice OCR {OWNERS} eng=<@UERIN|erin> risk=low")["text"]
    assert "Review of *AI-2*" in slack.command("submit AI-2")["text"]
    live(slack, "Fraud rules", "AI-3", owners="business=<@UOTTO|otto> data=<@UDEV|dev>")
    slack.command('kpi AI-3 define "Losses avoided" baseline=0 target=5000', user="UOTTO")
    slack.deliver()
    zone = slack.runtime.settings.default_zone
    day = datetime.now(UTC).date() + timedelta(days=31)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    morning = datetime.combine(day, time(10), zone)
    next_day = day + timedelta(days=1)
    while next_day.weekday() >= 5:
        next_day += timedelta(days=1)

    def kpi_requests(user: str) -> list[dict[str, Any]]:
        return [m for m in slack.dms_to(user) if "KPI actuals to record" in m["text"]]

    run_sweep(slack.runtime, now=morning - timedelta(days=3))  # not due yet
    run_sweep(slack.runtime, now=datetime.combine(day, time(6), zone))  # before working hours
    slack.deliver()
    assert kpi_requests("UMARIA") == [] and kpi_requests("UOTTO") == []
    dry_run = "\n".join(describe(run_sweep(slack.runtime, now=morning, send=False), sent=False))
    assert "AI-3 KPI actuals (UOTTO)" in dry_run and "1 KPI update(s)" in dry_run, dry_run
    run_sweep(slack.runtime, now=morning)
    run_sweep(slack.runtime, now=morning + timedelta(hours=2))  # one DM a day
    run_sweep(slack.runtime, now=datetime.combine(next_day, time(10), zone))  # once per period
    slack.deliver()

    [reminder] = kpi_requests("UMARIA")  # the sign-off and the KPI request, in one DM
    assert "Sign-offs waiting for your decision" in str(reminder["blocks"]) and "*AI-2*" in str(reminder["blocks"])
    assert "*AI-1* Churn model" in str(reminder["blocks"]) and "Monthly churn" in str(reminder["blocks"])
    assert reminder["text"] == ("Reminder: 1 sign-off waiting for your decision. "
                                "KPI actuals to record on 1 live initiative.")
    [only] = kpi_requests("UOTTO")  # nothing else waits on Otto: the DM is the KPI request alone
    assert only["text"] == "Reminder: KPI actuals to record on 1 live initiative."
    assert "*AI-3* Fraud rules" in str(only["blocks"]) and "sign-off" not in str(only["blocks"]).lower()
    assert button(only, ids.KPI_RECORD)["value"] == "AI-3"
    assert not [m for m in slack.dms_to("UDEV") if "KPI" in m["text"]]
    with slack.runtime.transaction() as session:
        asked = session.exec(select(KpiReminder).order_by(KpiReminder.initiative_id)).all()
        assert [(a.recipient, a.due_on) for a in asked] == [
            (who, (datetime.now(UTC) + timedelta(days=30)).date()) for who in ("UMARIA", "UOTTO")]

    # The App Home lists the same requests, from the same "what waits on a person".
    with slack.runtime.read() as session:
        homes = {who: str(home_view(session, team_id=TEAM_ID, user_id=who, now=morning)["blocks"])
                 for who in ("UMARIA", "UOTTO", "UDEV")}
    assert "KPI actuals to record (Losses avoided)" in homes["UOTTO"] and "*AI-3* Fraud rules" in homes["UOTTO"]
    assert "*AI-1* Churn model" in homes["UMARIA"] and ids.KPI_RECORD in homes["UMARIA"]
    assert "KPI actuals to record" not in homes["UDEV"]

    slack.click(ids.KPI_RECORD, button(reminder, ids.KPI_RECORD)["value"], user="UMARIA", message=reminder,
                channel=reminder["channel"])
    modal = slack.opened_modal()
    assert modal["callback_id"] == ids.KPI_MODAL and "Monthly churn" in str(modal["blocks"])
    slack.submit(modal, values(kpi_name="0", value="3.9%", measured_on=datetime.now(UTC).date()), user="UMARIA")
    assert [value for value, *_ in actuals(slack)] == [3.9]
