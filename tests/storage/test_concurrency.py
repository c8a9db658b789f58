"""Races between separate OS processes, each with its own engine, released together at a barrier."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.services.initiatives.service import create_initiative
from bot.services.reviews import service as reviews
from storage.db import make_engine
from storage.migrate import current_revision, head_revision
from storage.models import AuditEvent, GateReview, SignOff, StageTransition
from tests.support import workers
from tests.support.factories import actor
from tests.support.postgres import scratch_database
from tests.support.processes import race

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}


def _open_review(runtime) -> dict[str, int]:
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ"), title="Race", owners=OWNERS)
        review = reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative)
        return {s.role: s.id for s in reviews.sign_offs_of(session, review_id=review.id)}


def test_two_processes_approving_the_same_sign_off_record_one_approval(runtime, database_url):
    sign_offs = _open_review(runtime)
    outcomes = race(workers.approve_sign_off, [(database_url, sign_offs["business"], "UBIZ")] * 2)

    assert sorted(kind for kind, _ in outcomes) == ["already", "recorded"]
    with Session(runtime.engine) as session:
        assert session.get(SignOff, sign_offs["business"]).state == "approved"
        approvals = session.exec(select(AuditEvent).where(AuditEvent.action == "signoff.approved")).all()
        assert len(approvals) == 1


def test_last_two_approvals_at_once_pass_the_gate_exactly_once(runtime, database_url):
    sign_offs = _open_review(runtime)
    with runtime.transaction() as session:
        sign_off = session.get(SignOff, sign_offs["business"])
        items = [i.id for i in reviews.checklist_of(session, sign_off, session.get(GateReview, sign_off.review_id))]
        reviews.approve(session, actor=actor("UBIZ"), sign_off_id=sign_off.id, ticked=items)

    outcomes = race(workers.approve_sign_off, [(database_url, sign_offs["data"], "UDATA"),
                                                (database_url, sign_offs["engineering"], "UENG")])

    assert sorted(kind for kind, _ in outcomes) == ["recorded", "recorded"]
    assert sorted(passed for _, passed in outcomes) == [False, True]
    with Session(runtime.engine) as session:
        moves = session.exec(select(StageTransition).where(StageTransition.to_stage == "pilot")).all()
        assert len(moves) == 1


@pytest.fixture
def empty_postgres_database():
    with scratch_database("ib_upgrade") as url:
        yield url


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_replicas_upgrading_an_empty_database_at_once_are_safe(backend, tmp_path, request):
    url = f"sqlite:///{tmp_path / 'fresh.db'}" if backend == "sqlite" else request.getfixturevalue(
        "empty_postgres_database")
    race(workers.upgrade_database, [(url,)] * 3)
    engine = make_engine(url)
    assert current_revision(engine) == head_revision(engine)
    engine.dispose()
