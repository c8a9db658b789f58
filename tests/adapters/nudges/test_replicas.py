"""Two scheduler replicas, separate OS processes started together on one database, sweeping a whole working
day every 15 minutes: each person gets one nudge that day, whichever replica decided it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlmodel import select

from slack_emulator import SlackEmulator
from storage.models import NudgeLog
from tests.adapters.nudges import workers
from tests.services.nudges.support import open_review
from tests.support.processes import race

ASKED = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)  # Monday
WEDNESDAY_0800 = datetime(2026, 11, 11, 8, 0, tzinfo=UTC)
INITIATIVES = 12


def test_two_schedulers_send_one_nudge_per_person_and_day(runtime, database_url):
    people = set()
    with SlackEmulator(team_id="T0TEST") as emulator:
        for n in range(INITIATIVES):
            owners = {"business": f"UB{n}", "data": f"UD{n % 4}", "engineering": f"UE{n}", "sponsor": "USPONSOR"}
            open_review(runtime, asked=ASKED, owners=owners, title=f"Initiative {n}")
            people |= {owners["business"], owners["data"], owners["engineering"]}
        for person in people | {"USPONSOR", "UADMIN"}:
            emulator.add_user(person, person.lower(), tz="Europe/London")
        args = (database_url, emulator.base_url, WEDNESDAY_0800.isoformat(), 40)
        outcomes = race(workers.sweeping_replica, [args] * 2, timeout=300)

        delivered = Counter(call.params["channel"] for call in emulator.calls_to("chat.postMessage") if call.ok)

    assert delivered == Counter({person: 1 for person in people})
    assert sum(sum(written) for _, written in outcomes) == len(people)
    with runtime.transaction() as session:
        logs = session.exec(select(NudgeLog.recipient, NudgeLog.local_date)).all()
    assert Counter(logs) == Counter({(person, datetime(2026, 11, 11).date()): 1 for person in people})
