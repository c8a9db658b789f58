"""`initiative-bot audit export`: every event with who did it (ID and name at the time), filters, both formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from sqlmodel import Session, select

from bot.services.access.visibility import Audience
from bot.services.audit.identity import remember_identity
from bot.services.initiatives.service import create_initiative, edit_initiative, get_initiative
from storage.models import AuditEvent
from tests.services.audit.history import OWNERS, decide_everything
from tests.support.factories import TEAM, actor

EVERYONE = Audience.workspace(team_id=TEAM)  # who reads: anyone in the test workspace

JAN, MAR, MAY = (datetime(2026, month, 10, 9, 30, tzinfo=UTC) for month in (1, 3, 5))


def _create(runtime, title: str, at: datetime) -> str:
    with runtime.transaction() as session:
        return create_initiative(session, actor=actor("UBIZ"), title=title, owners=OWNERS, now=at).key


def _name(runtime, user_id: str, name: str, at: datetime) -> None:
    with runtime.transaction() as session:
        remember_identity(session, team_id=TEAM, user_id=user_id, display_name=name, at=at)


def test_csv_names_each_actor_as_they_were_called_at_the_time(runtime, cli):
    _name(runtime, "UBIZ", "Maria", JAN)
    _name(runtime, "UBIZ", "Maria Rossi", MAR)
    _create(runtime, "Churn model", JAN)
    _create(runtime, "Demand forecast", MAY)
    key = _create(runtime, "Fraud scoring", MAY)
    decide_everything(runtime, key)

    code, out, _ = cli("audit", "export", "--format", "csv")

    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    created = [r for r in rows if r["action"] == "initiative.created"]
    assert [(r["time"], r["actor_id"], r["actor_name"], r["subject"]) for r in created] == [
        ("2026-01-10T09:30:00.000000Z", "UBIZ", "Maria", "AI-1"),
        ("2026-05-10T09:30:00.000000Z", "UBIZ", "Maria Rossi", "AI-2"),
        ("2026-05-10T09:30:00.000000Z", "UBIZ", "Maria Rossi", "AI-3"),
    ]
    data_approval = next(r for r in rows if r["action"] == "signoff.approved" and r["subject"].endswith("/data"))
    assert data_approval["actor_id"] == data_approval["actor_name"] == "UDATA"  # no name known: the Slack ID
    assert data_approval["definition_version"] == "1"
    assert json.loads(data_approval["before"]) == {"state": "pending"}
    with Session(runtime.engine) as session:
        hashes = list(session.exec(select(AuditEvent.hash).order_by(AuditEvent.seq)))
    assert [r["hash"] for r in rows] == hashes


def test_jsonl_keeps_only_the_dates_and_initiative_asked_for(runtime, cli, tmp_path):
    _create(runtime, "Churn model", JAN)
    _create(runtime, "Demand forecast", MAR)
    key = _create(runtime, "Fraud scoring", MAY)
    with runtime.transaction() as session:
        edit_initiative(session, actor=actor("UBIZ"), initiative=get_initiative(session, audience=EVERYONE, key="AI-2"),
                        title="Demand forecasting")
    target = tmp_path / "march.jsonl"

    code, _, err = cli("audit", "export", "--since", "2026-03-10", "--until", "2026-03-10", "--format", "jsonl",
                       str(target))
    assert code == 0 and "wrote 1 event to" in err
    (only,) = [json.loads(line) for line in target.read_text().splitlines()]
    assert (only["action"], only["initiative"], only["after"]["title"]) == ("initiative.created", "AI-2",
                                                                            "Demand forecast")

    code, out, _ = cli("audit", "export", "--initiative", "ai-2", "--format", "jsonl")
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["action"] for e in events] == ["initiative.created", "initiative.edited"]
    assert events[1]["before"] == {"title": "Demand forecast"} and events[1]["after"] == {"title": "Demand forecasting"}
    assert key == "AI-3"


def test_export_refuses_backwards_dates_and_unknown_initiatives_in_one_line(runtime, cli):
    code, _, err = cli("audit", "export", "--since", "2026-05-01", "--until", "2026-04-01", "--format", "csv")
    assert code == 1 and err.strip() == "initiative-bot: --since is after --until; give the earlier date first."

    code, _, err = cli("audit", "export", "--initiative", "AI-99", "--format", "csv")
    assert code == 1 and "There is no initiative AI-99" in err and len(err.strip().splitlines()) == 1
