"""Who may see an initiative: one rule, giving the same answer for one initiative in hand (`may_see`) and as the
condition of a query (`visible_to`), today and once the rule changes; and a delegation lets its delegate see
exactly while it lets them act."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.services.access import delegation
from bot.services.access.visibility import Audience, may_see, visible_to
from bot.services.initiatives.service import create_initiative, set_confidential
from bot.services.reviews import service as lifecycle
from storage.models import Initiative
from tests.support.factories import TEAM, actor

OTHER_TEAM = "T0OTHER"
AUDIENCES = {
    "maria": Audience.person(team_id=TEAM, user_id="UBIZ"),
    "dev": Audience.person(team_id=TEAM, user_id="UDATA"),
    "channel": Audience.channel(team_id=TEAM, channel_id="C0GENERAL"),
    "workspace": Audience.workspace(team_id=TEAM),
    "other workspace": Audience.workspace(team_id=OTHER_TEAM),
    "someone elsewhere": Audience.person(team_id=OTHER_TEAM, user_id="UBIZ"),
    "unknown workspace": Audience.workspace(team_id="T0NOBODY"),
}
HERE = {f"{TEAM}/AI-1", f"{TEAM}/AI-2", f"{TEAM}/AI-3"}
THERE = {f"{OTHER_TEAM}/AI-1"}


@pytest.fixture
def portfolio(runtime: Any) -> Any:
    """Two workspaces: here a low-risk, a high-risk (Maria its business owner) and a retired initiative; there
    one of its own."""
    with runtime.transaction() as session:
        create_initiative(session, actor=actor("UBIZ"), title="Churn model", risk_tier="low")
        create_initiative(session, actor=actor("UBIZ"), title="Secret plan", risk_tier="high",
                          owners={"business": "UBIZ"})
        retired = create_initiative(session, actor=actor("UBIZ"), title="Old idea")
        lifecycle.retire(session, actor=actor("UADMIN", admin=True), initiative=retired, reason="dropped")
        create_initiative(session, actor=actor("UBIZ", team_id=OTHER_TEAM), title="Elsewhere")
    return runtime


def _both_ways(session: Session, audience: Audience) -> tuple[set[str], set[str]]:
    """What the audience may see, asked of each initiative in hand, and asked of the database."""
    one_by_one = {f"{i.team_id}/{i.key}" for i in session.exec(select(Initiative)) if may_see(audience, i)}
    by_query = {f"{team_id}/AI-{number}" for team_id, number in
                session.exec(select(Initiative.team_id, Initiative.number).where(visible_to(audience)))}
    return one_by_one, by_query


def test_today_everyone_in_a_workspace_sees_its_initiatives_and_nobody_else_does(portfolio: Any) -> None:
    expected = {"maria": HERE, "dev": HERE, "channel": HERE, "workspace": HERE, "other workspace": THERE,
                "someone elsewhere": THERE, "unknown workspace": set()}
    with portfolio.transaction() as session:
        for name, audience in AUDIENCES.items():
            one_by_one, by_query = _both_ways(session, audience)
            assert one_by_one == by_query == expected[name], name


def test_a_confidential_initiative_is_seen_by_its_owners_and_admins_alone_and_both_answers_agree(
        portfolio: Any) -> None:
    with portfolio.transaction() as session:
        secret_plan = session.exec(select(Initiative).where(Initiative.title == "Secret plan")).one()
        set_confidential(session, actor=actor("UADMIN", admin=True), initiative=secret_plan, confidential=True)
    secret = f"{TEAM}/AI-2"
    audiences = {**AUDIENCES, "an admin": Audience.admin(team_id=TEAM)}
    expected = {"maria": HERE, "dev": HERE - {secret}, "channel": HERE - {secret}, "workspace": HERE - {secret},
                "an admin": HERE, "other workspace": THERE, "someone elsewhere": THERE, "unknown workspace": set()}
    with portfolio.transaction() as session:
        for name, audience in audiences.items():
            one_by_one, by_query = _both_ways(session, audience)
            assert one_by_one == by_query == expected[name], name


def test_a_delegation_ends_at_one_instant_for_acting_seeing_listing_and_the_job_that_ends_it(portfolio: Any) -> None:
    """Its last minute included, the delegate acts for the owner, sees their confidential initiative, and has it on
    their desk; one microsecond later none of them, and only then does the job end it."""
    with portfolio.transaction() as session:
        secret_plan = session.exec(select(Initiative).where(Initiative.title == "Secret plan")).one()
        set_confidential(session, actor=actor("UADMIN", admin=True), initiative=secret_plan, confidential=True)
        set_at = datetime(2026, 12, 1, 9, tzinfo=UTC)
        row = delegation.delegate(session, actor=actor("UBIZ"), delegate_id="UOTTO", until=date(2026, 12, 24),
                                  owner_zone=ZoneInfo("Asia/Kolkata"), now=set_at)
        end = row.ends_at
    assert end == datetime(2026, 12, 24, 23, 59, tzinfo=ZoneInfo("Asia/Kolkata"))
    secret = f"{TEAM}/AI-2"

    def as_otto(now: datetime) -> tuple[str | None, list[str], bool, bool]:
        with portfolio.transaction() as session:
            otto = Audience.person(team_id=TEAM, user_id="UOTTO", at=now)
            one_by_one, by_query = _both_ways(session, otto)
            assert one_by_one == by_query
            return (delegation.acting_for(session, actor=actor("UOTTO"), people={"UBIZ"}, now=now),
                    delegation.delegators(session, team_id=TEAM, delegate="UOTTO", now=now), secret in by_query,
                    delegation.current_delegation(session, team_id=TEAM, owner="UBIZ", now=now) is not None)

    assert as_otto(end) == ("UBIZ", ["UBIZ"], True, True)
    with portfolio.transaction() as session:
        assert delegation.end_lapsed(session, now=end) == []
    after = end + timedelta(microseconds=1)
    assert as_otto(after) == (None, [], False, False)
    with portfolio.transaction() as session:
        assert [row.owner for row in delegation.end_lapsed(session, now=after)] == ["UBIZ"]
