"""Migration 0017 adds re-attestation reviews, an initiative's MLflow model, flags and model checks. A user who
upgrades keeps every review as a gate review and every initiative, naming no model; a downgrade drops the
re-attestations (their sign-offs too) and keeps every gate review and initiative."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from tests.storage.old_schema import at_revision, downgrade_to, empty_database, insert, migrate_to, moment

TEAM = "T0OLD"
AT = "2026-11-30 10:00:00.000000"


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    with empty_database(request.param, tmp_path) as url:
        engine = at_revision(url, "0016")
        yield engine
        engine.dispose()


def _review(connection, initiative: int, *, kind: str | None = None) -> int:  # type: ignore[no-untyped-def]
    """A review with one sign-off: a passed gate review (no kind: before 0017), or an open re-attestation."""
    at = moment(connection, AT)
    passed = kind is None
    review = insert(connection, "gate_review", team_id=TEAM, initiative_id=initiative, gate_slug="g1",
                    from_stage="pilot" if passed else "production", to_stage="production", definition_version=1,
                    sla_business_days=5, state="passed" if passed else "open", opened_by="UALICE", opened_at=at,
                    closed_at=at if passed else None, **({} if passed else {"kind": kind}))
    insert(connection, "sign_off", team_id=TEAM, review_id=review, role="business", assignee="UALICE",
           state="approved" if passed else "pending", requested_at=at, decided_at=at if passed else None,
           ticked=[], waivers={}, evidence_links=[])
    return review


def test_upgrading_keeps_every_review_as_a_gate_review_and_downgrading_drops_only_re_attestations(old_engine):
    with old_engine.begin() as connection:
        at = moment(connection, AT)
        insert(connection, "workspace", key="team_id", team_id=TEAM, name="Old Corp", next_initiative_number=2,
               created_at=at)
        initiative = insert(
            connection, "initiative", team_id=TEAM, number=1, title="Churn model", description="", problem="",
            kpi_name="", kpi_baseline="", kpi_target="", risk_tier="low", status="active", retired_reason=None,
            stage="production", stage_entered_at=at, current_transition_id="t-1", created_by="UALICE",
            created_at=at, updated_at=at, tags=[], business_unit="")
        gate_review = _review(connection, initiative)
        insert(connection, "stage_transition", team_id=TEAM, id="t-1", initiative_id=initiative,
               to_stage="production", at=at, reason="passed gate g1", actor="UALICE", review_id=gate_review)

    migrate_to(old_engine, "0017")
    with old_engine.begin() as connection:
        assert connection.execute(text("SELECT kind FROM gate_review")).scalars().all() == ["gate"]
        assert connection.execute(text("SELECT mlflow_model FROM initiative")).scalars().all() == [None]
        _review(connection, initiative, kind="reattestation")

    downgrade_to(old_engine, "0016")
    with old_engine.connect() as connection:
        assert connection.execute(text("SELECT id FROM gate_review")).scalars().all() == [gate_review]
        assert connection.execute(text("SELECT review_id FROM sign_off")).scalars().all() == [gate_review]
        assert connection.execute(text("SELECT stage FROM initiative")).scalars().all() == ["production"]
