"""Migration 0022 indexes the initiatives already there: after the upgrade, `/initiative find` finds them by title,
tag, description and owner's name; later writes keep the index in step; a downgrade removes it and its triggers,
leaving every initiative as it was."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session

from bot.services.access.visibility import Audience
from bot.services.initiatives.search import search_initiatives, search_terms
from tests.storage.old_schema import at_revision, downgrade_to, empty_database, insert, migrate_to, moment

TEAM = "T0OLD"
AT = "2026-11-30 10:00:00.000000"


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    with empty_database(request.param, tmp_path) as url:
        engine = at_revision(url, "0021")
        yield engine
        engine.dispose()


def _fill_at_0021(engine: Engine) -> None:
    with engine.begin() as connection:
        at = moment(connection, AT)
        insert(connection, "workspace", key="team_id", team_id=TEAM, name="Old Corp", next_initiative_number=4,
               created_at=at)
        rows = {1: ("Churn model", "Predicts which subscribers leave", ["retail"]),
                2: ("Invoice OCR", "Reads invoices; churn of suppliers is out of scope", ["finance"]),
                3: ("Layoff risk", "Confidential workforce model", ["hr"])}
        for number, (title, description, tags) in rows.items():
            insert(connection, "initiative", team_id=TEAM, number=number, title=title, description=description,
                   problem="", risk_tier="low", status="active", retired_reason=None, stage="idea",
                   stage_entered_at=at, current_transition_id=f"t-{number}", created_by="UALICE", created_at=at,
                   updated_at=at, tags=tags, business_unit="", confidential=number == 3)
            review = insert(connection, "gate_review", team_id=TEAM, initiative_id=number, gate_slug="g1",
                            from_stage="idea", to_stage="pilot", definition_version=1, sla_business_days=5,
                            state="cancelled", opened_by="UALICE", opened_at=at, closed_at=at)
            insert(connection, "stage_transition", team_id=TEAM, id=f"t-{number}", initiative_id=number,
                   to_stage="idea", at=at, reason="created", actor="UALICE", review_id=review)
        insert(connection, "owner_assignment", team_id=TEAM, initiative_id=2, role="business", user_id="UMARIA",
               assigned_by="UALICE", assigned_at=at)
        insert(connection, "owner_assignment", team_id=TEAM, initiative_id=3, role="sponsor", user_id="UALICE",
               assigned_by="UALICE", assigned_at=at)
        insert(connection, "audit_identity", team_id=TEAM, user_id="UMARIA", ref="A1B2C3D4E5F60718",
               display_names=[["2026-11-01T00:00:00+00:00", "Maria Lopez"]])


def _find(engine: Engine, *words: str, audience: Audience | None = None) -> list[str]:
    with Session(engine) as session:
        found = search_initiatives(session, audience=audience or Audience.person(team_id=TEAM, user_id="UREADER"),
                                   terms=search_terms(words), limit=10)
        return [hit.initiative.key for hit in found.hits]


def test_the_upgrade_indexes_the_initiatives_already_there(old_engine: Engine) -> None:
    _fill_at_0021(old_engine)

    migrate_to(old_engine, "head")

    assert _find(old_engine, "churn") == ["AI-1", "AI-2"]  # the title's match first
    assert _find(old_engine, "finance") == ["AI-2"] and _find(old_engine, "subscribers") == ["AI-1"]
    assert _find(old_engine, "lopez") == ["AI-2"]
    assert _find(old_engine, "layoff") == []  # still confidential
    assert _find(old_engine, "layoff", audience=Audience.person(team_id=TEAM, user_id="UALICE")) == ["AI-3"]
    with old_engine.begin() as connection:  # and the triggers keep it in step from now on
        connection.execute(text("UPDATE initiative SET title = 'Retention uplift' WHERE number = 1"))
    assert _find(old_engine, "retention") == ["AI-1"] and _find(old_engine, "churn") == ["AI-2"]


def test_a_downgrade_removes_the_index_and_keeps_the_initiatives(old_engine: Engine) -> None:
    _fill_at_0021(old_engine)
    migrate_to(old_engine, "head")

    downgrade_to(old_engine, "0021")

    assert not any(name.startswith("initiative_search") for name in inspect(old_engine).get_table_names())
    with old_engine.begin() as connection:  # no trigger is left to write into a table that is gone
        connection.execute(text("UPDATE initiative SET title = 'Retention uplift' WHERE number = 1"))
        connection.execute(text("DELETE FROM owner_assignment WHERE initiative_id = 2"))
        connection.execute(text("UPDATE audit_identity SET display_names = '[]' WHERE user_id = 'UMARIA'"))
        titles = connection.execute(text("SELECT title FROM initiative ORDER BY number")).scalars().all()
    assert titles == ["Retention uplift", "Invoice OCR", "Layoff risk"]
    migrate_to(old_engine, "head")  # and up again, indexed as it now is
    assert _find(old_engine, "retention") == ["AI-1"] and _find(old_engine, "lopez") == []
