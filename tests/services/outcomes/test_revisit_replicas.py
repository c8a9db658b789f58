"""Two scheduler replicas, as separate OS processes released together, ask a hold's sponsor exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlmodel import select

from bot.services.initiatives.service import create_initiative
from bot.services.outcomes import service as outcomes
from storage.models import HoldRevisitPrompt, OutboxMessage
from storage.types import utcnow
from tests.services.outcomes import workers
from tests.support.factories import actor
from tests.support.processes import race

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG", "sponsor": "USPONSOR"}


def test_two_replicas_send_a_hold_s_revisit_prompt_once(runtime, database_url):
    today = utcnow().date()
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ"), title="Churn model", owners=OWNERS)
        outcomes.hold(session, actor=actor("USPONSOR"), initiative=initiative, until=today + timedelta(days=3),
                      reason="no budget", today=today)
    revisit_morning = datetime.combine(today + timedelta(days=3), time(10), UTC)

    results = race(workers.revisit_replica, [(database_url, revisit_morning.isoformat())] * 2)

    assert sorted(written for _, written in results) == [0, 1]
    with runtime.transaction() as session:
        [prompt] = session.exec(select(HoldRevisitPrompt)).all()
        assert (prompt.recipient, prompt.revisit_on) == ("USPONSOR", today + timedelta(days=3))
        [dm] = session.exec(select(OutboxMessage)).all()
        assert dm.payload["channel"] == "USPONSOR" and "Extend hold" in str(dm.payload["blocks"])
