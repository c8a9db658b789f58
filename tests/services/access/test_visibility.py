"""Who may see an initiative: one rule, giving the same answer for one initiative in hand (`may_see`) and as the
condition of a query (`visible_to`), today and once the rule changes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

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
