"""Migration 0013 adds holds, recycles and kills. A user who upgrades keeps every initiative, with its status,
history and references, and can then hold and kill (the status check now allows `held` and `killed`); a
downgrade turns holds into pauses and kills into retirements, with the rationale, so nothing is lost either way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from tests.storage.old_schema import at_revision, downgrade_to, empty_database, insert, migrate_to, moment

TEAM = "T0OLD"
AT = "2026-11-30 10:00:00.000000"


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    with empty_database(request.param, tmp_path) as url:
        engine = at_revision(url, "0012")
        yield engine
        engine.dispose()


def _fill_at_0012(engine: Engine) -> dict[str, int]:
    """Three initiatives (active with an open review and a pending sign-off, paused, retired)."""
    ids: dict[str, int] = {}
    with engine.begin() as connection:
        at = moment(connection, AT)
        insert(connection, "workspace", key="team_id", team_id=TEAM, name="Old Corp", next_initiative_number=4,
               created_at=at)
        for number, status in enumerate(("active", "paused", "retired"), start=1):
            initiative = insert(
                connection, "initiative", team_id=TEAM, number=number, title=f"Model {number}", description="",
                problem="", kpi_name="", kpi_baseline="", kpi_target="", risk_tier="low", status=status,
                retired_reason="merged into AI-1" if status == "retired" else None, stage="idea",
                stage_entered_at=at, current_transition_id=f"t-{number}", created_by="UALICE", created_at=at,
                updated_at=at, tags=[], business_unit="")
            still_open = status == "active"
            review = insert(connection, "gate_review", team_id=TEAM, initiative_id=initiative, gate_slug="g1",
                            from_stage="idea", to_stage="pilot", definition_version=1, sla_business_days=5,
                            state="open" if still_open else "cancelled", opened_by="UALICE", opened_at=at,
                            closed_at=None if still_open else at)
            insert(connection, "stage_transition", team_id=TEAM, id=f"t-{number}", initiative_id=initiative,
                   to_stage="idea", at=at, reason="created", actor="UALICE", review_id=review)
            ids[status] = initiative
            if still_open:
                ids["sign_off"] = insert(connection, "sign_off", team_id=TEAM, review_id=review, role="business",
                                         assignee="UALICE", state="pending", requested_at=at, ticked=[],
                                         waivers={}, evidence_links=[])
    return ids


def _statuses(engine: Engine) -> dict[int, tuple[str, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, status, retired_reason FROM initiative")).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def test_the_upgrade_keeps_every_initiative_and_allows_holds_and_kills(old_engine: Engine) -> None:
    ids = _fill_at_0012(old_engine)
    before = _statuses(old_engine)

    migrate_to(old_engine, "head")

    assert _statuses(old_engine) == before
    with old_engine.connect() as connection:
        assert connection.execute(text("SELECT state FROM sign_off WHERE id = :id"),
                                  {"id": ids["sign_off"]}).scalar_one() == "pending"
        assert connection.execute(text("SELECT count(*) FROM stage_transition")).scalar_one() == 3
    with old_engine.begin() as connection:
        connection.execute(text("UPDATE initiative SET status = 'held' WHERE id = :id"), {"id": ids["active"]})
        connection.execute(text("UPDATE initiative SET status = 'killed' WHERE id = :id"), {"id": ids["paused"]})
    with pytest.raises(IntegrityError), old_engine.begin() as connection:
        connection.execute(text("UPDATE initiative SET status = 'frozen' WHERE id = :id"), {"id": ids["active"]})
    assert _statuses(old_engine)[ids["active"]] == ("held", None)
    if old_engine.dialect.name == "sqlite":
        with old_engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []


def test_a_downgrade_turns_holds_into_pauses_and_kills_into_retirements_with_their_rationale(
        old_engine: Engine) -> None:
    ids = _fill_at_0012(old_engine)
    migrate_to(old_engine, "head")
    with old_engine.begin() as connection:
        at = moment(connection, AT)
        connection.execute(text("UPDATE initiative SET status = 'held' WHERE id = :id"), {"id": ids["active"]})
        connection.execute(text("UPDATE initiative SET status = 'killed' WHERE id = :id"), {"id": ids["paused"]})
        insert(connection, "initiative_outcome", team_id=TEAM, initiative_id=ids["paused"], kind="kill",
               stage="idea", reason="No budget after the reorganisation", lessons="", decided_by="UALICE",
               decided_at=at)

    downgrade_to(old_engine, "0012")

    statuses = _statuses(old_engine)
    assert statuses[ids["active"]] == ("paused", None)
    assert statuses[ids["paused"]] == ("retired", "No budget after the reorganisation")
    assert statuses[ids["retired"]] == ("retired", "merged into AI-1")
    with pytest.raises(IntegrityError), old_engine.begin() as connection:
        connection.execute(text("UPDATE initiative SET status = 'held' WHERE id = :id"), {"id": ids["active"]})
