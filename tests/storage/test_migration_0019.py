"""Migration 0019 gives every waived checklist item a row with its reason and an expiry date. A user who upgrades
keeps every waiver given before, now expiring 30 business days after its decision, so that the expiry jobs find it;
a sign-off without waivers, or one never approved, gets none."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, text

from tests.storage.old_schema import at_revision, downgrade_to, empty_database, insert, migrate_to, moment

TEAM = "T0OLD"
DECIDED = "2026-11-30 10:00:00.000000"  # a Monday: 30 business days later is Monday 2027-01-11


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    with empty_database(request.param, tmp_path) as url:
        engine = at_revision(url, "0018")
        yield engine
        engine.dispose()


def _fill_at_0018(engine: Engine) -> None:
    """One passed review: the data owner approved waiving two items, the business owner ticked all; and an open
    review whose pending sign-off has none."""
    with engine.begin() as connection:
        at = moment(connection, DECIDED)
        insert(connection, "workspace", key="team_id", team_id=TEAM, name="Old Corp", next_initiative_number=2,
               created_at=at)
        initiative = insert(
            connection, "initiative", team_id=TEAM, number=1, title="Model 1", description="", problem="",
            kpi_name="", kpi_baseline="", kpi_target="", risk_tier="low", status="active", retired_reason=None,
            stage="idea", stage_entered_at=at, current_transition_id="t-1", created_by="UALICE", created_at=at,
            updated_at=at, tags=[], business_unit="")
        passed = insert(connection, "gate_review", team_id=TEAM, initiative_id=initiative, gate_slug="idea-to-pilot",
                        from_stage="idea", to_stage="pilot", definition_version=1, sla_business_days=5,
                        state="passed", opened_by="UALICE", opened_at=at, closed_at=at)
        insert(connection, "stage_transition", team_id=TEAM, id="t-1", initiative_id=initiative, to_stage="idea",
               at=at, reason="created", actor="UALICE", review_id=passed)
        insert(connection, "sign_off", team_id=TEAM, review_id=passed, role="data", assignee="UDEV",
               state="approved", requested_at=at, decided_by="UDEV", decided_at=at, ticked=["quality-profiled"],
               waivers={"sources-accessible": "public data only", "sources-governed": "no personal data"},
               evidence_links=[], conditions=[])
        insert(connection, "sign_off", team_id=TEAM, review_id=passed, role="business", assignee="UMARIA",
               state="approved", requested_at=at, decided_by="UMARIA", decided_at=at, ticked=["problem-stated"],
               waivers={}, evidence_links=[], conditions=[])


def test_the_upgrade_gives_every_earlier_waiver_an_expiry_from_its_decision(old_engine: Engine) -> None:
    _fill_at_0018(old_engine)

    migrate_to(old_engine, "head")

    with old_engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT role, item_id, reason, waived_by, expires_on, warned_at, expired_at FROM checklist_waiver "
            "ORDER BY item_id")).all()
        targets = connection.execute(text("SELECT next_target_on FROM gate_review")).scalars().all()
    assert [(r[0], r[1], r[2], r[3], str(r[4]), r[5], r[6]) for r in rows] == [
        ("data", "sources-accessible", "public data only", "UDEV", str(date(2027, 1, 11)), None, None),
        ("data", "sources-governed", "no personal data", "UDEV", str(date(2027, 1, 11)), None, None)]
    assert targets == [None]

    downgrade_to(old_engine, "0018")
    with old_engine.connect() as connection:  # the answers themselves were never touched
        waivers = connection.execute(text("SELECT waivers FROM sign_off WHERE role = 'data'")).scalar_one()
    assert "no personal data" in str(waivers)
