"""`initiative-bot import` and `export` as an admin runs them: e-mail addresses resolved by the Slack emulator's
users.lookupByEmail (over HTTP, as Slack would answer), a real database on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import col, select

from bot.cli import main
from slack_emulator import SlackEmulator
from storage.models import AuditEvent, Initiative, OwnerAssignment, Workspace
from tests.support.factories import TEAM

PORTFOLIO = ("title;stage;business_owner;data_owner;kpi_name\n"
             "Churn model;pilot;maria@example.com;UDEV;Churn rate\n"
             "Invoice OCR;;Maria@Example.com;dev@example.com;\n")


@pytest.fixture
def slack(runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackEmulator]:
    """The test database's workspace in Slack: the CLI takes the workspace from the token (auth.test)."""
    with SlackEmulator(team_id=TEAM) as emulator:
        emulator.add_user("UMARIA", "maria", email="maria@example.com")
        emulator.add_user("UDEV", "dev", email="dev@example.com")
        emulator.add_user("UGONE", "gone", email="gone@example.com", deleted=True)
        monkeypatch.setenv("SLACK_BOT_TOKEN", emulator.bot_token)
        monkeypatch.setenv("SLACK_API_URL", emulator.base_url)
        yield emulator


def _problems(stderr: str) -> list[str]:
    """stderr without the line that says which workspace the command acts on."""
    return [line for line in stderr.splitlines() if not line.startswith(f"initiative-bot: workspace {TEAM}")]


def _keys(runtime) -> list[tuple[str, str]]:
    with runtime.read() as session:
        query = select(Initiative).where(Initiative.team_id == TEAM).order_by(col(Initiative.number))
        return [(i.key, i.stage) for i in session.exec(query)]


def test_import_resolves_each_address_once_and_a_second_run_changes_nothing(runtime, slack, tmp_path, capsys):
    file = tmp_path / "portfolio.csv"
    file.write_text(PORTFOLIO, encoding="utf-8-sig")

    assert main(["import", str(file), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would create 'Churn model' in pilot (line 2)" in out
    assert out.endswith("Dry run: 2 to create, 0 to update, 0 unchanged. Nothing was written.\n")
    assert _keys(runtime) == []

    slack.clear()
    assert main(["import", str(file)]) == 0
    assert capsys.readouterr().out == ("created AI-1 'Churn model' in pilot\n"
                                       "created AI-2 'Invoice OCR' in idea\n"
                                       f"Imported {file}: 2 created, 0 updated, 0 unchanged.\n")
    asked = sorted(call.params["email"] for call in slack.calls_to("users.lookupByEmail"))
    assert asked == ["dev@example.com", "maria@example.com"]
    with runtime.read() as session:
        owners = {(o.initiative_id, o.role, o.user_id) for o in session.exec(select(OwnerAssignment))}
        imported = session.exec(select(AuditEvent).where(AuditEvent.action == "initiative.imported")).all()
    assert owners == {(1, "business", "UMARIA"), (1, "data", "UDEV"), (2, "business", "UMARIA"), (2, "data", "UDEV")}
    assert {e.actor for e in imported} == {main_actor()} and len(imported) == 2

    assert main(["import", str(file)]) == 0
    assert capsys.readouterr().out == f"No changes: all 2 row(s) of {file} match their initiatives already.\n"
    assert _keys(runtime) == [("AI-1", "pilot"), ("AI-2", "idea")]


def main_actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"[:32]


def test_slacks_retry_after_is_waited_out(runtime, slack, tmp_path, capsys):
    file = tmp_path / "portfolio.csv"
    file.write_text(PORTFOLIO)
    slack.inject("users.lookupByEmail", retry_after=1)
    assert main(["import", str(file)]) == 0
    calls = slack.calls_to("users.lookupByEmail")
    assert [c.status for c in calls] == [429, 200, 200]
    assert len(_keys(runtime)) == 2


def test_every_problem_is_printed_as_file_line_column_and_nothing_is_written(runtime, slack, tmp_path, capsys):
    file = tmp_path / "portfolio.csv"
    file.write_text("title,business_owner,risk_tier\n"
                    "Churn model,nobody@example.com,low\n"
                    "Invoice OCR,gone@example.com,extreme\n"
                    "Forecast,UDEV,low\n")
    assert main(["import", str(file)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert _problems(captured.err) == [
        f"{file}:2: business_owner: Slack knows no one with the address nobody@example.com",
        f"{file}:3: risk_tier: Risk must be one of low, medium, high; got 'extreme'.",
        f"{file}:3: business_owner: gone@example.com belongs to a deactivated Slack account (UGONE)",
        f"initiative-bot: {file} has 3 problem(s); nothing was imported",
    ]
    assert _keys(runtime) == []


def test_guests_and_people_from_other_organisations_are_refused_as_owners_unless_guests_are_allowed(
        runtime, slack, tmp_path, capsys, monkeypatch):
    slack.add_user("UGUEST", "guest", email="guest@example.com", is_restricted=True)
    slack.add_user("UEXT", "ext", is_stranger=True)
    file = tmp_path / "portfolio.csv"
    file.write_text("title,business_owner,data_owner\n"
                    "Churn model,guest@example.com,UDEV\n"
                    "Invoice OCR,UMARIA,UEXT\n")

    assert main(["import", str(file)]) == 1
    assert _problems(capsys.readouterr().err) == [
        f"{file}:2: business_owner: guest@example.com cannot be an owner: they are a guest in this workspace "
        "(an admin may allow guests: ALLOW_GUEST_OWNERS=true)",
        f"{file}:3: data_owner: UEXT cannot be an owner: they are from another organisation (Slack Connect)",
        f"initiative-bot: {file} has 2 problem(s); nothing was imported",
    ]
    assert _keys(runtime) == []
    assert {c.params.get("user") for c in slack.calls_to("users.info")} >= {"UDEV", "UEXT", "UMARIA"}

    monkeypatch.setenv("ALLOW_GUEST_OWNERS", "true")  # guests may own; other organisations still may not
    assert main(["import", str(file)]) == 1
    assert [p for p in _problems(capsys.readouterr().err) if "cannot be an owner" in p] == [
        f"{file}:3: data_owner: UEXT cannot be an owner: they are from another organisation (Slack Connect)"]
    file.write_text("title,business_owner,data_owner\nChurn model,guest@example.com,UDEV\n")
    assert main(["import", str(file)]) == 0
    with runtime.read() as session:
        assert session.exec(select(OwnerAssignment.user_id).where(OwnerAssignment.role == "business")).one() == \
            "UGUEST"


def test_a_missing_scope_is_one_line_that_says_the_fix(runtime, slack, tmp_path, capsys):
    file = tmp_path / "portfolio.csv"
    file.write_text(PORTFOLIO)
    slack.inject("users.lookupByEmail", error="missing_scope")
    assert main(["import", str(file)]) == 1
    assert _problems(capsys.readouterr().err) == [
        "initiative-bot: Slack refused users.lookupByEmail: missing_scope (the app needs the users:read.email scope: "
        "reinstall it); nothing was imported"]
    assert _keys(runtime) == []


@pytest.mark.parametrize("name", ["portfolio.csv", "portfolio.xlsx"])
def test_export_then_import_changes_nothing(runtime, slack, tmp_path, capsys, name):
    source = tmp_path / "source.csv"
    source.write_text(PORTFOLIO)
    assert main(["import", str(source)]) == 0
    exported = tmp_path / name
    assert main(["export", str(exported)]) == 0
    assert _problems(capsys.readouterr().err) == [f"wrote 2 initiative(s) to {exported}"]
    assert main(["import", str(exported)]) == 0
    assert capsys.readouterr().out == f"No changes: all 2 row(s) of {exported} match their initiatives already.\n"


def test_export_to_standard_output_is_csv(runtime, tmp_path, capsys):
    source = tmp_path / "source.csv"
    source.write_text("title,business_owner\nChurn model,UMARIA\n")
    assert main(["import", str(source)]) == 0
    capsys.readouterr()
    assert main(["export"]) == 0
    lines = capsys.readouterr().out.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("key,title,description,stage,status,risk_tier,business_owner,")
    assert lines[1].startswith("AI-1,Churn model,,idea,active,medium,UMARIA,")
    assert main(["export", "--format", "xlsx"]) == 1
    assert "An .xlsx export needs a FILE" in capsys.readouterr().err


def test_a_refused_import_into_a_new_workspace_leaves_no_workspace_behind(runtime, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)  # no developer's .env: no bot token, the workspace comes from --team
    file = tmp_path / "portfolio.csv"
    file.write_text("title,risk_tier\nChurn model,extreme\n")

    assert main(["import", str(file), "--team", "TNEWCORP"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("initiative-bot: workspace TNEWCORP (from --team); new in this database: added, with the "
                          "default gates, only if this succeeds\n")
    assert err.endswith(f"initiative-bot: {file} has 1 problem(s); nothing was imported\n")
    with runtime.read() as session:
        assert session.get(Workspace, "TNEWCORP") is None
        assert session.exec(select(AuditEvent).where(AuditEvent.team_id == "TNEWCORP")).all() == []

    file.write_text("title,risk_tier\nChurn model,low\n")
    assert main(["import", str(file), "--team", "TNEWCORP"]) == 0
    with runtime.read() as session:
        assert session.get(Workspace, "TNEWCORP") is not None
        assert [i.key for i in session.exec(select(Initiative).where(Initiative.team_id == "TNEWCORP"))] == ["AI-1"]


def test_export_kpis_writes_every_actual_with_who_recorded_it(runtime, tmp_path, capsys):
    from datetime import date

    from bot.services.access.visibility import Audience
    from bot.services.initiatives.service import get_initiative
    from bot.services.kpis.actuals import record_actual
    from tests.support.factories import actor

    source = tmp_path / "source.csv"
    source.write_text("title,business_owner,kpi_name,kpi_baseline,kpi_target\nChurn model,UMARIA,Churn,4.2%,3.5%\n")
    assert main(["import", str(source)]) == 0
    with runtime.transaction() as session:
        initiative = get_initiative(session, audience=Audience.workspace(team_id=TEAM), key="AI-1")
        record_actual(session, actor=actor("UMARIA"), initiative=initiative, value="3.9%",
                      measured_on=date(2026, 11, 30), today=date(2026, 12, 7), note="November")
    capsys.readouterr()
    assert main(["export", "kpis"]) == 0
    lines = capsys.readouterr().out.lstrip("\ufeff").splitlines()
    assert lines[0] == ("key,title,kpi,unit,direction,baseline,target,target_date,measured_on,value,note,"
                        "recorded_by,recorded_at")
    assert lines[1].startswith("AI-1,Churn model,Churn,%,lower,4.2,3.5,,2026-11-30,3.9,November,UMARIA,")
    assert main(["export", "kpis", "a.csv", "b.csv"]) == 1
    assert "Give one FILE to write, not 2" in capsys.readouterr().err
