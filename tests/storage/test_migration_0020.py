"""Migration 0020 turns each initiative's one free-text KPI into its first KPI. A user who upgrades loses nothing:
the texts stay as typed, and numbers are read from them only where they are unambiguous; a downgrade puts the
texts back on the initiative."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from tests.storage.old_schema import at_revision, downgrade_to, empty_database, insert, migrate_to, moment

TEAM = "T0OLD"
AT = "2026-11-30 10:00:00.000000"
OLD_KPIS = {
    1: ("Monthly churn", "4.2%", "3.5%"),  # both numbers, same unit, going down
    2: ("Hours of manual handling", "400", "150 h"),  # units disagree: texts only
    3: ("Revenue per user", "about 20 EUR", "EUR 25"),  # one is no number: the other is read
    4: ("", "", ""),  # no KPI at all
    5: ("Net promoter score", "1,200", "1,500"),  # a comma could be either: texts only
}


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    with empty_database(request.param, tmp_path) as url:
        engine = at_revision(url, "0019")
        yield engine
        engine.dispose()


def _fill_at_0019(engine: Engine) -> None:
    with engine.begin() as connection:
        at = moment(connection, AT)
        insert(connection, "workspace", key="team_id", team_id=TEAM, name="Old Corp", next_initiative_number=6,
               created_at=at)
        for number, (name, baseline, target) in OLD_KPIS.items():
            insert(connection, "initiative", team_id=TEAM, number=number, title=f"Model {number}", description="",
                   problem="", kpi_name=name, kpi_baseline=baseline, kpi_target=target, risk_tier="low",
                   status="active", retired_reason=None, stage="idea", stage_entered_at=at,
                   current_transition_id=f"t-{number}", created_by="UALICE", created_at=at, updated_at=at, tags=[],
                   business_unit="")
            review = insert(connection, "gate_review", team_id=TEAM, initiative_id=number, gate_slug="g1",
                            from_stage="idea", to_stage="pilot", definition_version=1, sla_business_days=5,
                            state="cancelled", opened_by="UALICE", opened_at=at, closed_at=at)
            insert(connection, "stage_transition", team_id=TEAM, id=f"t-{number}", initiative_id=number,
                   to_stage="idea", at=at, reason="created", actor="UALICE", review_id=review)


def _kpis(engine: Engine) -> dict[int, tuple]:
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT i.number, k.position, k.name, k.baseline_text, k.target_text, k.baseline, k.target, k.unit, "
            "k.direction FROM kpi k JOIN initiative i ON i.id = k.initiative_id")).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_the_upgrade_makes_each_free_text_kpi_a_first_kpi_and_keeps_its_texts(old_engine: Engine) -> None:
    _fill_at_0019(old_engine)

    migrate_to(old_engine, "head")

    assert _kpis(old_engine) == {
        1: (0, "Monthly churn", "4.2%", "3.5%", 4.2, 3.5, "%", "lower"),
        2: (0, "Hours of manual handling", "400", "150 h", None, None, "", "higher"),
        3: (0, "Revenue per user", "about 20 EUR", "EUR 25", None, 25.0, "EUR", "higher"),
        5: (0, "Net promoter score", "1,200", "1,500", None, None, "", "higher"),
    }
    with old_engine.connect() as connection:
        columns = connection.execute(text("SELECT * FROM initiative")).keys()
        assert not {"kpi_name", "kpi_baseline", "kpi_target"} & set(columns)
        assert connection.execute(text("SELECT count(*) FROM initiative")).scalar_one() == 5
        if old_engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []


def test_a_downgrade_puts_the_first_kpis_texts_back_on_the_initiative(old_engine: Engine) -> None:
    _fill_at_0019(old_engine)
    migrate_to(old_engine, "head")

    downgrade_to(old_engine, "0019")

    with old_engine.connect() as connection:
        rows = connection.execute(text("SELECT number, kpi_name, kpi_baseline, kpi_target FROM initiative")).all()
    assert {row[0]: tuple(row[1:]) for row in rows} == OLD_KPIS
