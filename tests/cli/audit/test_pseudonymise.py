"""`initiative-bot audit pseudonymise USER`: a departed person disappears; the history and its proof remain."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlmodel import Session, SQLModel

from bot.services.access.visibility import Audience
from bot.services.audit.identity import remember_identity
from bot.services.initiatives.service import get_initiative
from bot.services.reviews import service as lifecycle
from bot.services.reviews import service as reviews
from storage.models import AppAdmin, Delegation, NudgeLog, UserProfile
from tests.services.audit.history import decide_everything, new_initiative
from tests.support.factories import TEAM, actor

EVERYONE = Audience.workspace(team_id=TEAM)  # who reads: anyone in the test workspace


def _everything_stored(engine) -> str:
    """Every row of every table, as text: what an erased person must no longer be found in."""
    with Session(engine) as session:
        return "\n".join(repr(row) for table in SQLModel.metadata.sorted_tables
                         for row in session.execute(select(table)))


def _history_of_maria(runtime) -> str:
    with runtime.transaction() as session:
        remember_identity(session, team_id=TEAM, user_id="UBIZ", display_name="Maria Rossi")
        remember_identity(session, team_id=TEAM, user_id="UDATA", display_name="Dev Patel")
        # What other areas keep about her: admin right, time zone, a delegation, a nudge sent.
        session.add(AppAdmin(team_id=TEAM, user_id="UBIZ", added_by="UADMIN"))
        session.add(UserProfile(team_id=TEAM, user_id="UBIZ", tz="Europe/Rome"))
        session.add(Delegation(team_id=TEAM, owner="UBIZ", delegate="UDATA", until_date=date(2026, 12, 1),
                               ends_at=datetime(2026, 12, 1, 23, tzinfo=UTC)))
        session.add(NudgeLog(team_id=TEAM, recipient="UBIZ", local_date=date(2026, 11, 2), kind="nudge"))
    key = new_initiative(runtime)
    decide_everything(runtime, key)
    with runtime.transaction() as session:
        initiative = get_initiative(session, audience=EVERYONE, key=key)
        review = reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative)
        data = next(s for s in reviews.sign_offs_of(session, review_id=review.id) if s.role == "data")
    with runtime.transaction() as session:
        reviews.request_changes(session, actor=actor("UDATA"), sign_off_id=data.id,
                                reason="Ask <@UBIZ> for the measured baseline")
    with runtime.transaction() as session:
        lifecycle.pause(session, actor=actor("UBIZ"), initiative=get_initiative(session, audience=EVERYONE, key=key),
                        reason="Maria is on leave")
    return key


def test_a_pseudonymised_person_is_gone_everywhere_and_the_chain_still_verifies(runtime, cli):
    key = _history_of_maria(runtime)
    assert "UBIZ" in _everything_stored(runtime.engine)

    code, out, _ = cli("audit", "pseudonymise", "UBIZ")

    assert code == 0
    pseudonym = re.search(r"UBIZ is now (UERASED[0-9A-F]+):", out).group(1)
    stored = _everything_stored(runtime.engine)
    assert "UBIZ" not in stored and "Maria Rossi" not in stored
    assert "Dev Patel" in stored and "UDATA" in stored

    code, out, err = cli("audit", "verify")
    assert code == 0, err

    code, out, _ = cli("audit", "export", "--initiative", key, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {(r["actor_id"], r["actor_name"]) for r in rows} == {(pseudonym, pseudonym), ("UDATA", "Dev Patel"),
                                                               ("UENG", "UENG")}
    changes = next(r for r in rows if r["action"] == "signoff.changes_requested")
    assert f"Ask <@{pseudonym}> for the measured baseline" in changes["after"]
    assert rows[-1]["action"] == "initiative.paused" and rows[-1]["actor_id"] == pseudonym

    code, out, _ = cli("audit", "record", key)
    assert f"### Business owner: approved by {pseudonym} on " in out


def test_pseudonymising_twice_is_refused_in_one_line(runtime, cli):
    _history_of_maria(runtime)
    code, out, _ = cli("audit", "pseudonymise", "UBIZ")
    pseudonym = re.search(r"(UERASED[0-9A-F]+)", out).group(1)

    code, _, err = cli("audit", "pseudonymise", "UBIZ")
    assert code == 1
    assert err.strip() == "initiative-bot: UBIZ does not appear in T0TEST's audit trail; check the Slack ID (U…)."

    code, _, err = cli("audit", "pseudonymise", pseudonym)
    assert code == 1
    assert err.strip() == (f"initiative-bot: {pseudonym} is already a pseudonym; "
                           "pass the person's original Slack ID.")
