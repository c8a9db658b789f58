"""Verifying a long chain in several processes, stretch by stretch, finds what one walk finds, and the same first.

The chain here is short, so the length from which verification goes parallel is lowered for these tests.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Connection, delete, insert, select, update

from bot.services.audit import chain as audit_chain
from bot.services.audit.chain import ChainFields, all_refs, canonical, chain_hash, ref_replacements, verify_chain
from bot.services.audit.service import record_audit
from storage.models import AuditEvent
from tests.support.factories import TEAM

PROCESSES = 3
COLUMNS = [column for column in AuditEvent.__table__.columns if column.name != "id"]


@pytest.fixture
def chain(runtime, monkeypatch) -> int:  # type: ignore[no-untyped-def]
    """A chain of about 25 events naming people in every place a person can appear; returns its length."""
    monkeypatch.setattr(audit_chain, "PARALLEL_FROM", 1)
    people = ["UBIZ", "UDATA", "W0ENG", "UERASEDAB12"]
    with runtime.transaction() as session:
        for number in range(24):
            person, other = people[number % 4], people[(number + 1) % 4]
            record_audit(session, team_id=TEAM, actor=person, action="test.changed", subject_type="test",
                         subject_key=f"AI-{number}/{other}", initiative_id=None,
                         before=None if number % 5 == 0 else {"state": "pending", "owner": other},
                         after={"state": "done", other: [f"<@{person}> ok", number], "note": "é \"quoted\""})
    with runtime.engine.connect() as connection:
        return audit_chain.chain_head(connection, team_id=TEAM)[0]


def _row(connection: Connection, seq: int) -> dict:
    return dict(connection.execute(select(AuditEvent.__table__).where(
        AuditEvent.team_id == TEAM, AuditEvent.seq == seq)).mappings().one())


def _rewrite(connection: Connection, row: dict, values: dict) -> None:
    connection.execute(update(AuditEvent).where(AuditEvent.id == row["id"]).values(values))


def _edit(connection: Connection, seq: int) -> Callable[[Connection], None]:
    row = _row(connection, seq)
    _rewrite(connection, row, {"after": {"state": "forged"}})
    return lambda later: _rewrite(later, row, {"after": row["after"]})


def _forge(connection: Connection, seq: int) -> Callable[[Connection], None]:
    """Rewrite an event and recompute its hash, so that only the next link shows it."""
    row = _row(connection, seq)
    fields = ChainFields(TEAM, seq, row["at"], row["actor"], row["action"], row["subject_type"], row["subject_key"],
                         row["initiative_id"], row["definition_version"], row["before"], {"forged": True})
    forged = chain_hash(row["prev_hash"], canonical(fields, ref_replacements(all_refs(connection, team_id=TEAM))))
    _rewrite(connection, row, {"after": {"forged": True}, "hash": forged})
    return lambda later: _rewrite(later, row, {"after": row["after"], "hash": row["hash"]})


def _delete(connection: Connection, seq: int) -> Callable[[Connection], None]:
    row = _row(connection, seq)
    connection.execute(delete(AuditEvent).where(AuditEvent.id == row["id"]))
    return lambda later: later.execute(insert(AuditEvent).values(row))


def _swap(connection: Connection, seq: int) -> Callable[[Connection], None]:
    """Swap every column but the id of this event and the next: each row stays internally valid."""
    first, second = _row(connection, seq), _row(connection, seq + 1)

    def place(into: Connection, content_of_first: dict, content_of_second: dict) -> None:
        _rewrite(into, first, {"seq": -1})  # out of the way of the unique seq
        _rewrite(into, second, {c.name: content_of_second[c.name] for c in COLUMNS})
        _rewrite(into, first, {c.name: content_of_first[c.name] for c in COLUMNS})

    place(connection, second, first)
    return lambda later: place(later, first, second)


def _reports(runtime) -> tuple:  # type: ignore[no-untyped-def]
    with runtime.engine.connect() as connection:
        return (verify_chain(connection, team_id=TEAM),
                verify_chain(connection, team_id=TEAM, processes=PROCESSES))


def _near_seams(length: int) -> list[int]:
    """Events at both ends and on each side of every seam between stretches."""
    cuts = [1 + length * index // PROCESSES for index in range(1, PROCESSES)]
    return sorted({2, length - 1} | {cut + offset for cut in cuts for offset in (-1, 0, 1)})


def test_a_clean_chain_verifies_in_stretches_with_every_event_counted(runtime, chain):
    one_walk, stretches = _reports(runtime)

    assert stretches.ok and stretches.checked == chain
    assert stretches == one_walk


@pytest.mark.parametrize("tamper", [_edit, _forge, _delete, _swap], ids=["edit", "forge", "delete", "swap"])
def test_tampering_anywhere_is_reported_in_stretches_as_in_one_walk(runtime, chain, tamper):
    for seq in _near_seams(chain):
        with runtime.engine.begin() as connection:
            restore = tamper(connection, seq)

        one_walk, stretches = _reports(runtime)

        assert not one_walk.ok, seq
        assert stretches == one_walk, seq
        with runtime.engine.begin() as connection:
            restore(connection)
    assert _reports(runtime)[1].ok


def test_of_two_breaks_in_different_stretches_the_earlier_one_is_reported(runtime, chain):
    with runtime.engine.begin() as connection:
        _edit(connection, chain - 1)
        _edit(connection, 3)

    one_walk, stretches = _reports(runtime)

    assert stretches == one_walk
    assert stretches.broken is not None and stretches.broken.seq == 3
    assert "content was changed" in stretches.describe()


def test_a_row_numbered_outside_the_chain_is_reported_in_stretches_as_in_one_walk(runtime, chain):
    with runtime.engine.begin() as connection:
        first = _row(connection, 1)
        connection.execute(insert(AuditEvent).values({**{c.name: first[c.name] for c in COLUMNS}, "seq": 0}))

    one_walk, stretches = _reports(runtime)

    assert stretches == one_walk
    assert stretches.broken is not None and stretches.broken.seq == 0
