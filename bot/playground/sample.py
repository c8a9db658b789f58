"""The sample portfolio that `initiative-bot demo` narrates and `initiative-bot playground --sample` loads: a
workspace with its people, and initiatives at every stage, each taken through its gates over its lifetime."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.services.access.service import Actor
from bot.services.audit.service import remember_identity
from bot.services.gates.service import catalog_for, ensure_workspace
from bot.services.initiatives.service import create_initiative
from bot.services.reviews import service as reviews
from bot.services.reviews.service import checklist_of, sign_offs_of
from storage.models import GateReview

SAMPLE_TEAM = "T0DEMO"
ADMIN = "U0ADMIN"
PEOPLE = {
    "U0MARIA": "Maria (Head of Claims)",
    "U0DEV": "Dev (Data platform)",
    "U0ENG": "Eng (ML engineering)",
    "U0COMP": "Chloe (Compliance)",
    ADMIN: "Ada (AI programme office)",
}
OWNERS = {"business": "U0MARIA", "data": "U0DEV", "engineering": "U0ENG", "compliance": "U0COMP"}
PORTFOLIO_CHANNEL = "C0PORTFOLIO"
CHANNELS = {PORTFOLIO_CHANNEL: "ai-portfolio"}

SAMPLES = [
    # title, risk, stage reached, days in the portfolio
    ("Claims triage assistant", "high", "idea", 3),
    ("Invoice field extraction", "low", "pilot", 300),
    ("Churn early-warning model", "medium", "pilot", 40),
    ("Demand forecasting for stores", "medium", "production", 300),
    ("Contract clause search", "low", "scaled", 420),
    ("Call-centre summarisation", "medium", "idea", 10),
]


def sample_actor(user_id: str) -> Actor:
    return Actor(team_id=SAMPLE_TEAM, user_id=user_id, is_admin=user_id == ADMIN)


def seed_people(session: Session) -> None:
    """The sample workspace and the names its people go by in the audit trail."""
    ensure_workspace(session, team_id=SAMPLE_TEAM, name="Demo Corp")
    for user_id, name in PEOPLE.items():
        remember_identity(session, team_id=SAMPLE_TEAM, user_id=user_id, display_name=name)


def seed_portfolio(session: Session, *, now: datetime) -> None:
    """The sample initiatives as of `now`, their gate reviews spread over their lifetimes, and one paused."""
    catalog = catalog_for(session, team_id=SAMPLE_TEAM)
    stage_order = [stage.id for stage in catalog.stages]
    maria = sample_actor("U0MARIA")
    for title, risk, reached, age_days in SAMPLES:
        created = now - timedelta(days=age_days)
        initiative = create_initiative(
            session, actor=maria, title=title, risk_tier=risk, owners=OWNERS, now=created,
            problem="Manual work that does not scale", kpi_name="Hours of manual handling per week",
            kpi_baseline="400", kpi_target="150",
        )
        # Take it through each gate up to the stage it has reached, spacing the reviews over its lifetime.
        steps = stage_order.index(reached)
        for step in range(steps):
            at = created + timedelta(days=age_days * (step + 1) / (steps + 1))
            review = reviews.submit_for_next_gate(session, actor=maria, initiative=initiative, now=at)
            _approve_all(session, review_id=review.id, at=at + timedelta(days=2))
    paused = create_initiative(session, actor=maria, title="Supplier risk scoring", risk_tier="medium",
                               owners=OWNERS, now=now - timedelta(days=60))
    reviews.pause(session, actor=maria, initiative=paused, reason="waiting for data access")


def _approve_all(session: Session, *, review_id: int, at: datetime) -> None:
    review = session.get(GateReview, review_id)
    for sign_off in sign_offs_of(session, review_id=review_id):
        items = checklist_of(session, sign_off, review)
        reviews.approve(session, actor=sample_actor(sign_off.assignee), sign_off_id=sign_off.id,
                        ticked=[item.id for item in items], now=at)
