"""The sweep on SQLite and PostgreSQL: what lands in the outbox, once, and what a decision takes back out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.adapters.nudges import notice_payload, run_sweep
from bot.presenters import render_nudge
from bot.services.access.delegation import delegate
from bot.services.access.people import record_profile
from bot.services.errors import PermissionDenied
from bot.services.nudges.scheduled import write_notices
from storage.models import NudgeLog, OutboxMessage
from tests.services.nudges.support import approve, listed_keys, logged, open_review, outbox_dms
from tests.support.factories import TEAM, actor

ASKED = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)  # Monday
WEDNESDAY = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)  # business day 2: first nudge
NEXT_TUESDAY = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)  # the SLA ended Monday 17:00


@pytest.fixture
def nudging(runtime):
    return runtime


def test_sweep_writes_one_consolidated_dm_per_person_and_only_once_a_day(nudging):
    first = open_review(nudging, asked=ASKED, title="Claims triage")
    second = open_review(nudging, asked=ASKED.replace(hour=11), title="Invoice extraction")

    dry = run_sweep(nudging, now=WEDNESDAY, send=False)
    assert sorted(n.recipient for n in dry.teams[0].plan.notices) == ["UBIZ", "UDATA", "UENG"]
    assert outbox_dms(nudging) == {}  # the dry run wrote nothing

    result = run_sweep(nudging, now=WEDNESDAY)
    again = run_sweep(nudging, now=WEDNESDAY.replace(hour=15))

    dms = outbox_dms(nudging)
    assert sorted(dms) == ["UBIZ", "UDATA", "UENG"]
    assert all(len(payloads) == 1 for payloads in dms.values())
    assert listed_keys(dms["UBIZ"][0]) == [str(first["business"]), str(second["business"])]  # oldest first
    assert result.written == 3 and again.written == 0
    assert [h.why for h in again.teams[0].plan.held] == []  # not due again until Friday
    assert logged(nudging) == [(u, "nudge", "2026-11-11") for u in ("UBIZ", "UDATA", "UENG")]


def test_after_the_sla_the_sponsor_and_admins_are_escalated_to(nudging):
    open_review(nudging, asked=ASKED)

    run_sweep(nudging, now=NEXT_TUESDAY)

    dms = outbox_dms(nudging)
    assert sorted(dms) == ["UADMIN", "UBIZ", "UDATA", "UENG", "USPONSOR"]
    escalation = dms["USPONSOR"][0]
    assert escalation["text"] == "3 sign-offs past their SLA need a push."
    assert "waiting on <@UBIZ>" in escalation["blocks"][2]["text"]["text"]
    assert dms["UADMIN"][0]["text"] == escalation["text"]


def sent_now(runtime) -> dict[str, dict | None]:
    """recipient -> what the sender would post for their unsent nudge if it sent it now (its registered renderer,
    reading the database as it is); None: withdrawn."""
    with runtime.read() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.state == "pending")).all()
        return {row.payload["channel"]: render_nudge(session, row.team_id, dict(row.payload)) for row in rows}


def test_a_decision_takes_its_sign_off_out_of_an_unsent_nudge(nudging):
    first = open_review(nudging, asked=ASKED, title="Claims triage")
    second = open_review(nudging, asked=ASKED, title="Invoice extraction")
    run_sweep(nudging, now=WEDNESDAY)
    queued = outbox_dms(nudging)

    approve(nudging, first["data"], "UDATA", now=WEDNESDAY)

    assert outbox_dms(nudging) == queued  # the decision's transaction left the queued nudges alone
    data_dm = sent_now(nudging)["UDATA"]
    assert listed_keys(data_dm) == [str(second["data"])]
    assert data_dm["text"] == "Reminder: 1 sign-off waiting for your decision."
    assert listed_keys(sent_now(nudging)["UBIZ"]) == [str(first["business"]), str(second["business"])]

    approve(nudging, second["data"], "UDATA", now=WEDNESDAY)

    assert sent_now(nudging)["UDATA"] is None  # nothing left to remind them of: the DM is withdrawn


def test_the_unique_constraint_stops_a_dm_another_replica_decided_meanwhile(nudging):
    open_review(nudging, asked=ASKED)
    decided_here = run_sweep(nudging, now=WEDNESDAY, send=False).teams[0]
    with nudging.transaction() as session:  # meanwhile, another replica's sweep logged UBIZ's nudge
        session.add(NudgeLog(team_id=TEAM, recipient="UBIZ", local_date=date(2026, 11, 11), kind="nudge"))

    with nudging.transaction() as session:
        write_notices(session, decided_here, WEDNESDAY, render=notice_payload)

    assert [n.recipient for n in decided_here.already_sent] == ["UBIZ"]
    assert sorted(outbox_dms(nudging)) == ["UDATA", "UENG"]


def test_zones_stored_in_the_database_decide_the_working_hours(nudging):
    open_review(nudging, asked=ASKED)
    with nudging.transaction() as session:
        record_profile(session, team_id=TEAM, user_id="UBIZ", tz="Pacific/Kiritimati", now=ASKED)
        record_profile(session, team_id=TEAM, user_id="UDATA", tz="America/New_York", now=ASKED)

    run_sweep(nudging, now=WEDNESDAY)  # 10:00 UTC: midnight in Kiritimati, 05:00 in New York

    assert sorted(outbox_dms(nudging)) == ["UENG"]


def test_a_delegate_decides_and_is_nudged_instead_of_the_owner(nudging):
    sign_offs = open_review(nudging, asked=ASKED)
    with nudging.transaction() as session:
        delegate(session, actor=actor("UDATA"), delegate_id="UDEPUTY", until=date(2026, 11, 20),
                 owner_zone=nudging.settings.default_zone, now=ASKED)

    run_sweep(nudging, now=WEDNESDAY)
    dms = outbox_dms(nudging)
    assert "UDATA" not in dms
    assert "for <@UDATA> (delegated to you)" in dms["UDEPUTY"][0]["blocks"][2]["text"]["text"]

    with pytest.raises(PermissionDenied):
        approve(nudging, sign_offs["data"], "USTRANGER", now=WEDNESDAY)
    assert approve(nudging, sign_offs["data"], "UDEPUTY", now=WEDNESDAY).recorded
    assert approve(nudging, sign_offs["business"], "UBIZ", now=WEDNESDAY).recorded  # owners still decide


def test_a_delegation_ends_at_2359_in_the_owners_zone(nudging):
    sign_offs = open_review(nudging, asked=ASKED)
    with nudging.transaction() as session:
        record_profile(session, team_id=TEAM, user_id="UDATA", tz="America/New_York", now=ASKED)
        delegate(session, actor=actor("UDATA"), delegate_id="UDEPUTY", until=date(2026, 11, 10),
                 owner_zone=ZoneInfo("America/New_York"), now=ASKED)

    still_on = datetime(2026, 11, 11, 4, 58, tzinfo=UTC)  # 23:58 on the 10th in New York
    over = datetime(2026, 11, 11, 5, 0, tzinfo=UTC)  # 00:00 on the 11th in New York
    with pytest.raises(PermissionDenied):
        approve(nudging, sign_offs["data"], "UDEPUTY", now=over)
    assert approve(nudging, sign_offs["data"], "UDEPUTY", now=still_on).recorded
