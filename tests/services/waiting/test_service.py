"""What waits on a person, read once for the nudges, `show`, the App Home and the digest: pending sign-offs oldest
first with whom to escalate to, settled ones gone, and only what the audience may see. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services.access.visibility import Audience
from bot.services.gates.workspaces import catalog_for
from bot.services.initiatives.service import set_confidential
from bot.services.waiting.service import what_waits
from storage.models import GateReview, Initiative, SignOff
from tests.services.nudges.support import approve, open_review
from tests.support.factories import TEAM, actor

ASKED = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)


def waiting_on(runtime, person: str, audience: Audience | None = None) -> list[tuple[str, str, str | None]]:
    with runtime.read() as session:
        waiting = what_waits(session, team_id=TEAM, catalog=catalog_for(session, team_id=TEAM), people=[person],
                             audience=audience)
        return [(p.initiative_title, p.role, p.escalate_to) for p in waiting.sign_offs]


def test_a_persons_pending_sign_offs_oldest_first_until_decided(runtime):
    newer = open_review(runtime, asked=ASKED.replace(hour=11), title="Invoice extraction")
    open_review(runtime, asked=ASKED, title="Claims triage")

    assert waiting_on(runtime, "UDATA") == [("Claims triage", "data", "USPONSOR"),
                                            ("Invoice extraction", "data", "USPONSOR")]
    approve(runtime, newer["data"], "UDATA", now=ASKED.replace(hour=12))
    assert waiting_on(runtime, "UDATA") == [("Claims triage", "data", "USPONSOR")]


def test_a_confidential_initiative_waits_only_for_those_who_may_see_it(runtime):
    sign_offs = open_review(runtime, asked=ASKED, title="Claims triage")
    with runtime.transaction() as session:
        review = session.get(GateReview, session.get(SignOff, sign_offs["data"]).review_id)
        initiative = session.get(Initiative, review.initiative_id)
        set_confidential(session, actor=actor("UADMIN", admin=True), initiative=initiative, confidential=True)

    assert waiting_on(runtime, "UDATA", Audience.person(team_id=TEAM, user_id="UDATA")) == [
        ("Claims triage", "data", "USPONSOR")]  # an owner
    assert waiting_on(runtime, "UDATA", Audience.workspace(team_id=TEAM)) == []
