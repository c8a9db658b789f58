"""The hash chain: any edit, deletion or reordering made behind the bot's back is found by `audit verify`."""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import select, text, update
from sqlmodel import Session

from bot.services.access.visibility import Audience
from bot.services.audit.chain import ChainFields, all_refs, canonical, chain_hash, ref_replacements, verify_chain
from bot.services.initiatives.service import assign_owners, get_initiative
from storage.db import make_engine
from storage.migrate import alembic_config, upgrade
from storage.models import AuditEvent
from tests.cli.audit import workers
from tests.services.audit.history import decide_everything, new_initiative
from tests.support.factories import TEAM, actor
from tests.support.processes import race

EVERYONE = Audience.workspace(team_id=TEAM)  # who reads: anyone in the test workspace


def _history(runtime) -> None:
    key = new_initiative(runtime)
    decide_everything(runtime, key)
    with runtime.transaction() as session:
        assign_owners(session, actor=actor("UBIZ"), initiative=get_initiative(session, audience=EVERYONE, key=key),
                      owners={"engineering": "UENG2"})


def _event(engine, seq: int) -> AuditEvent:
    with Session(engine) as session:
        return session.exec(select(AuditEvent).where(AuditEvent.team_id == TEAM, AuditEvent.seq == seq)).scalar_one()


def test_a_clean_chain_verifies_and_says_how_many_events_it_checked(runtime, cli):
    _history(runtime)
    with Session(runtime.engine) as session:
        count = len(session.exec(select(AuditEvent.id)).all())

    code, out, _ = cli("audit", "verify")

    assert code == 0
    assert f"{count} events checked" in out


def test_an_update_of_a_past_row_is_reported_with_the_event_and_what_it_now_says(runtime, cli):
    _history(runtime)
    target = _event(runtime.engine, 5)
    with runtime.engine.begin() as connection:
        connection.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(actor="UEVIL"))

    code, _, err = cli("audit", "verify")

    assert code == 1
    assert f"Broken link at event {target.id} (#5 of {TEAM}" in err
    assert "content was changed" in err and "by UEVIL" in err


@pytest.mark.parametrize(("column", "value", "shown"), [
    ("at", "last tuesday", "no time"),
    ("after", "{not json", '"{not json" (not JSON)'),
])
def test_a_past_row_overwritten_with_text_that_does_not_parse_is_reported_not_a_crash(runtime, cli, column, value,
                                                                                     shown):
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's timestamp and JSON columns refuse such text themselves")
    _history(runtime)
    target = _event(runtime.engine, 5)
    with runtime.engine.begin() as connection:
        connection.execute(text(f"UPDATE audit_event SET {column} = :value WHERE id = :id"),
                           {"value": value, "id": target.id})

    code, _, err = cli("audit", "verify")

    assert code == 1
    assert f"Broken link at event {target.id} (#5 of {TEAM}" in err
    assert "content was changed" in err and shown in err


def test_a_rewritten_row_with_a_recomputed_hash_breaks_the_next_link(runtime, cli):
    _history(runtime)
    target = _event(runtime.engine, 4)
    with runtime.engine.begin() as connection:
        fields = ChainFields(TEAM, 4, target.at, target.actor, target.action, target.subject_type,
                             target.subject_key, target.initiative_id, target.definition_version,
                             target.before, {"forged": True})
        forged = chain_hash(target.prev_hash, canonical(fields, ref_replacements(all_refs(connection, team_id=TEAM))))
        connection.execute(update(AuditEvent).where(AuditEvent.id == target.id)
                           .values(after={"forged": True}, hash=forged))

    code, _, err = cli("audit", "verify")

    assert code == 1
    assert f"(#5 of {TEAM}" in err and "the event before it (#4) was replaced or rewritten" in err


def test_a_deleted_row_is_reported_as_missing(runtime, cli):
    _history(runtime)
    with runtime.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_event WHERE team_id = :team AND seq = 3"), {"team": TEAM})

    code, _, err = cli("audit", "verify")

    assert code == 1
    assert f"(#4 of {TEAM}" in err and "event #3 is missing" in err


def test_swapping_the_contents_of_two_rows_is_reported_as_a_reordering(runtime, cli):
    _history(runtime)
    first, second = _event(runtime.engine, 3), _event(runtime.engine, 4)
    columns = [c for c in AuditEvent.__table__.columns if c.name != "id"]
    with runtime.engine.begin() as connection:
        # Every column but the id moves, hashes and sequence numbers included: each row is internally valid.
        connection.execute(update(AuditEvent).where(AuditEvent.id == first.id).values(seq=-1))
        connection.execute(update(AuditEvent).where(AuditEvent.id == second.id)
                           .values({c.name: getattr(first, c.name) for c in columns}))
        connection.execute(update(AuditEvent).where(AuditEvent.id == first.id)
                           .values({c.name: getattr(second, c.name) for c in columns}))

    code, _, err = cli("audit", "verify")

    assert code == 1
    assert "rows were reordered" in err


def test_two_processes_appending_at_once_leave_one_unbroken_chain(runtime, database_url, cli):
    outcomes = race(workers.append_events, [(database_url, writer, 25) for writer in ("UWRITERA", "UWRITERB")])
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes

    code, out, err = cli("audit", "verify")

    assert code == 0, err
    assert "51 events checked" in out  # 25 + 25, after the workspace's own first event


def test_events_written_before_the_chain_existed_are_chained_by_the_migration(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    config = alembic_config(engine)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        connection.commit()
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO workspace (team_id, name, next_initiative_number, created_at) "
                                "VALUES ('T0OLD', '', 1, '2026-01-01 00:00:00.000000')"))
        for actor_id in ("UOLD1", "UOLD2", "system"):
            connection.execute(text(
                "INSERT INTO audit_event (team_id, at, actor, action, subject_type, subject_key, after) "
                "VALUES ('T0OLD', '2026-01-02 00:00:00.000000', :actor, 'test.old', 'test', 'x', :after)"),
                {"actor": actor_id, "after": json.dumps({"who": actor_id})})

    upgrade(engine)

    with engine.connect() as connection:
        report = verify_chain(connection, team_id="T0OLD")
    assert report.ok and report.checked == 3
    engine.dispose()
