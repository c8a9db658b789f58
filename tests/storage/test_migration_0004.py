"""Migration 0004 chains the audit events written before the chain existed, with the canonical form frozen into
the migration; today's `audit verify` accepts what it wrote, and today's code appends to that chain."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.cli import main
from bot.services.audit.service import record_audit
from storage.db import session_scope
from storage.migrate import upgrade
from tests.storage.old_schema import at_revision, empty_database, insert, moment

OLD_EVENTS = [
    # actor, subject_key, before, after: people in every place the canonical form replaces them
    ("UOLD1", "INIT-1", None, {"state": "draft"}),
    ("UOLD2", "<@UOLD1> & <@WOLD3>", {"owners": {"UOLD1": "product"}}, {"owners": {"UOLD2": "product"}}),
    ("system", "INIT-1", {"note": "quote \" and ünïcode ✓"}, {"list": ["UOLD1", 1, 2.5, True, None]}),
    ("UOLD2", "INIT-2", {}, {"comment": "with\nnew line and \\ backslash, for <@UOLD2>"}),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def old_url(request, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    with empty_database(request.param, tmp_path) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        yield url


def _fill_at_0003(url: str) -> None:
    engine = at_revision(url, "0003")
    with engine.begin() as connection:
        for team in ("T0OLD", "T0TWO"):
            insert(connection, "workspace", key="team_id", team_id=team, name=team, next_initiative_number=1,
                   created_at=moment(connection, "2026-01-01 00:00:00.000000"))
        for minute, (actor, subject_key, before, after) in enumerate(OLD_EVENTS):
            for team in ("T0OLD", "T0TWO"):
                insert(connection, "audit_event", team_id=team, actor=actor, action="test.old",
                       subject_type="initiative", subject_key=subject_key, before=before, after=after,
                       at=moment(connection, f"2026-01-02 09:{minute:02d}:00.123456"))
    upgrade(engine)
    engine.dispose()


def test_events_from_before_the_chain_verify_with_todays_audit_verify(old_url, capsys):
    _fill_at_0003(old_url)

    for team in ("T0OLD", "T0TWO"):
        assert main(["audit", "verify", "--team", team]) == 0
        assert f"{len(OLD_EVENTS)} events checked" in capsys.readouterr().out


def test_todays_code_appends_to_the_chain_the_migration_sealed(old_url, capsys):
    _fill_at_0003(old_url)
    engine = at_revision(old_url, "head")
    with session_scope(engine) as session:
        record_audit(session, team_id="T0OLD", actor="UOLD1", action="test.new", subject_type="initiative",
                     subject_key="INIT-1", after={"owners": {"UOLD2": "engineering"}})
    engine.dispose()

    assert main(["audit", "verify", "--team", "T0OLD"]) == 0
    assert f"{len(OLD_EVENTS) + 1} events checked" in capsys.readouterr().out


def test_a_sealed_event_changed_afterwards_is_reported(old_url, capsys):
    _fill_at_0003(old_url)
    engine = at_revision(old_url, "head")
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_event SET actor = 'UEVIL' WHERE team_id = 'T0OLD' AND seq = 2"))
    engine.dispose()

    assert main(["audit", "verify", "--team", "T0OLD"]) == 1
    assert "(#2 of T0OLD" in capsys.readouterr().err
