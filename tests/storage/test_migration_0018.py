"""Migration 0018 adds tracked items (conditions). A user who upgrades keeps every sign-off and nudge log row, each
now with no conditions and no listed items, so the old sign-offs decide and the old reminders count as before;
a downgrade drops only what 0018 added."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from tests.storage.old_schema import at_revision, downgrade_to, empty_database, insert, migrate_to, moment
from tests.storage.test_migration_0013 import _fill_at_0012

TEAM = "T0OLD"
AT = "2026-11-30 10:00:00.000000"


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    with empty_database(request.param, tmp_path) as url:
        engine = at_revision(url, "0012")
        yield engine
        engine.dispose()


def test_existing_sign_offs_and_reminders_keep_their_data_and_gain_empty_lists(old_engine):
    ids = _fill_at_0012(old_engine)
    migrate_to(old_engine, "0017")
    with old_engine.begin() as connection:
        insert(connection, "nudge_log", team_id=TEAM, recipient="UALICE", local_date="2026-12-01", kind="nudge",
               sign_off_ids=[ids["sign_off"]], reminded_ids=[ids["sign_off"]], created_at=moment(connection, AT))

    migrate_to(old_engine, "0018")

    with old_engine.connect() as connection:
        sign_off = connection.execute(text("SELECT state, assignee, conditions FROM sign_off")).one()
        log = connection.execute(text("SELECT sign_off_ids, reminded_ids, item_ids, reminded_item_ids "
                                      "FROM nudge_log")).one()
        assert connection.execute(text("SELECT count(*) FROM tracked_item")).scalar_one() == 0
    as_list = (lambda value: value) if old_engine.dialect.name == "postgresql" else json.loads
    assert (sign_off[0], sign_off[1], as_list(sign_off[2])) == ("pending", "UALICE", [])
    assert [as_list(value) for value in log] == [[ids["sign_off"]], [ids["sign_off"]], [], []]

    downgrade_to(old_engine, "0017")
    with old_engine.connect() as connection:
        assert connection.execute(text("SELECT state FROM sign_off")).scalar_one() == "pending"
        assert connection.execute(text("SELECT count(*) FROM nudge_log")).scalar_one() == 1
