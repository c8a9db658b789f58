"""Two replicas' evidence jobs, as separate OS processes started together, never check the same link at once."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.services.evidence import CHECK_LEASE, claim_due_links
from bot.services.workspaces import ensure_workspace
from storage.models import EvidenceCheck
from storage.types import utcnow
from tests.integrations import workers
from tests.support.factories import TEAM
from tests.support.processes import race


def test_two_replicas_claim_each_due_link_once(runtime, database_url):
    now = utcnow()
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=TEAM)
        overdue = now - timedelta(hours=1)
        session.add_all(EvidenceCheck(team_id=TEAM, url=f"https://intranet.corp/doc/{n}", due_at=overdue)
                        for n in range(300))

    outcomes = race(workers.claim_links, [(database_url, now.isoformat())] * 2)

    claimed = [set(detail) for _, detail in outcomes]
    assert not claimed[0] & claimed[1]
    assert len(claimed[0] | claimed[1]) == 300
    with runtime.transaction() as session:
        assert {row.due_at for row in session.exec(select(EvidenceCheck))} == {now + CHECK_LEASE}
        assert claim_due_links(session, now=now + timedelta(minutes=1)) == []  # still claimed
        assert len(claim_due_links(session, now=now + CHECK_LEASE)) == 200  # a claim that never recorded runs out
