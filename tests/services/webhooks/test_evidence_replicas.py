"""Two replicas' check jobs, as separate OS processes started together, never run the same check at once."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.integrations.mlflow import CheckResult
from bot.services.gates.workspaces import ensure_workspace
from bot.services.webhooks.automatic_checks import claim_due_checks, record_checks
from bot.services.webhooks.evidence import CHECK_LEASE, claim_due_links
from storage.models import AutomaticCheck, EvidenceCheck
from storage.types import utcnow
from tests.services.webhooks import workers
from tests.services.webhooks.support import open_review
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


def test_two_replicas_claim_each_due_automatic_check_once(runtime, database_url):
    _, review_id, _ = open_review(runtime)
    now = utcnow()
    with runtime.transaction() as session:
        session.add_all(AutomaticCheck(team_id=TEAM, review_id=review_id, role="engineering", item_id=f"model-{n}",
                                       spec={"kind": "mlflow_model"}) for n in range(150))

    outcomes = race(workers.claim_checks, [(database_url, now.isoformat())] * 2)

    claimed = [set(detail) for _, detail in outcomes]
    assert not claimed[0] & claimed[1]
    assert len(claimed[0] | claimed[1]) == 150
    with runtime.transaction() as session:
        assert claim_due_checks(session, now=now + timedelta(minutes=1)) == []  # still claimed
        [first, *_] = claim_due_checks(session, now=now + CHECK_LEASE)  # a claim that never recorded runs out
        record_checks(session, results={first.id: CheckResult("passed", "version 3 is the champion")},
                      now=now + CHECK_LEASE)
        assert session.get(AutomaticCheck, first.id).claimed_until is None  # recorded: the claim is released
