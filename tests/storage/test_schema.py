"""The schema: migrations match the models, and invariants hold in the database itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from bot.services.access.visibility import Audience
from bot.services.initiatives.service import create_initiative, get_initiative
from bot.services.reviews import service as reviews
from storage.db import session_scope
from storage.models import GateReview, Initiative, SignOff, StageTransition
from storage.search_index import include_name, is_search_index
from tests.support.factories import TEAM, actor

EVERYONE = Audience.workspace(team_id=TEAM)  # who reads: anyone in the test workspace

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}


def _initiative(runtime) -> int:
    with runtime.transaction() as session:
        return create_initiative(session, actor=actor("UBIZ"), title="Forecasting", owners=OWNERS).id


def test_migrations_and_models_do_not_drift(engine):
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"include_name": include_name}),
                                SQLModel.metadata)
    assert diff == []


def test_every_table_is_scoped_by_workspace(engine):
    inspector = inspect(engine)
    # commit_deadline's rows never outlive their transaction (storage/models/commit_deadline.py); maintenance_run's
    # jobs (the prune) work on every workspace at once (storage/models/operations.py). FTS5's shadow tables hold
    # the search index's internals (its own table has team_id).
    unscoped = [t for t in inspector.get_table_names()
                if t not in ("alembic_version", "commit_deadline", "maintenance_run")
                and not (is_search_index(t) and t != "initiative_search")
                and "team_id" not in {c["name"] for c in inspector.get_columns(t)}]
    assert unscoped == []


def test_times_come_back_as_aware_utc(runtime):
    initiative_id = _initiative(runtime)
    with runtime.transaction() as session:
        initiative = session.get(Initiative, initiative_id)
        initiative.updated_at = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    with Session(runtime.engine) as session:
        loaded = session.get(Initiative, initiative_id)
        assert loaded.updated_at.tzinfo is UTC
        assert loaded.updated_at == datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
        assert loaded.created_at.tzinfo is UTC


def test_naive_datetimes_are_refused(runtime):
    initiative_id = _initiative(runtime)
    with pytest.raises(Exception, match="naive datetime"), runtime.transaction() as session:
        session.get(Initiative, initiative_id).updated_at = datetime(2026, 1, 1)
        session.flush()


def test_foreign_keys_are_enforced(runtime):
    with pytest.raises(IntegrityError), session_scope(runtime.engine) as session:
        session.execute(text("INSERT INTO owner_assignment (team_id, initiative_id, role, user_id, assigned_by,"
                             " assigned_at) VALUES ('T0TEST', 999, 'data', 'U1', 'U1', '2026-01-01')"))


def test_stage_cannot_change_without_a_transition_row(runtime):
    initiative_id = _initiative(runtime)
    with pytest.raises(IntegrityError), session_scope(runtime.engine) as session:
        session.execute(text("UPDATE initiative SET stage = 'production' WHERE id = :id"), {"id": initiative_id})
    with Session(runtime.engine) as session:
        assert session.get(Initiative, initiative_id).stage == "idea"


def test_database_refuses_a_second_open_review(runtime):
    initiative_id = _initiative(runtime)
    with runtime.transaction() as session:
        initiative = session.get(Initiative, initiative_id)
        reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative)
    with pytest.raises(IntegrityError), session_scope(runtime.engine) as session:
        session.add(GateReview(team_id=TEAM, initiative_id=initiative_id, gate_slug="idea-to-pilot",
                               from_stage="idea", to_stage="pilot", definition_version=1, sla_business_days=5,
                               opened_by="UBIZ"))
        session.flush()


def test_database_refuses_a_decision_without_its_time(runtime):
    initiative_id = _initiative(runtime)
    with runtime.transaction() as session:
        review = reviews.submit_for_next_gate(session, actor=actor("UBIZ"),
                                              initiative=session.get(Initiative, initiative_id))
        sign_off_id = reviews.sign_offs_of(session, review_id=review.id)[0].id
    with pytest.raises(IntegrityError), session_scope(runtime.engine) as session:
        session.execute(text("UPDATE sign_off SET state = 'approved' WHERE id = :id"), {"id": sign_off_id})
    with Session(runtime.engine) as session:
        assert session.get(SignOff, sign_off_id).state == "pending"


def test_keys_are_sequential_per_workspace_and_case_insensitive(runtime):
    first, second = _initiative(runtime), _initiative(runtime)
    with runtime.transaction() as session:
        assert get_initiative(session, audience=EVERYONE, key="ai-2").id == second
        assert get_initiative(session, audience=EVERYONE, key=" AI-1 ").id == first
        transitions = session.exec(select(StageTransition)).all()
        assert {t.initiative_id for t in transitions} == {first, second}
