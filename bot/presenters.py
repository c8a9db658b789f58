"""Gathers, with services, what a view shows, so that views stay pure and listeners and handlers stay thin."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.services.gates.workspaces import catalog_for
from bot.services.initiatives.service import count_initiatives, list_initiatives
from bot.services.reviews.service import gate_of, pending_sign_offs_for, sign_offs_of
from bot.services.webhooks.automatic_checks import results_for
from bot.services.webhooks.evidence import flagged_links, shown_flag
from bot.views import home
from bot.views.messages import SignOffCard
from bot.views.replies import stage_name
from storage.models import GateReview, Initiative, SignOff


def sign_off_card(session: Session, sign_off: SignOff) -> SignOffCard:
    review = session.get(GateReview, sign_off.review_id)
    assert review is not None
    initiative = session.get(Initiative, review.initiative_id)
    assert initiative is not None
    catalog = catalog_for(session, team_id=review.team_id, version=review.definition_version)
    gate = gate_of(session, review)
    links = tuple(link for other in sign_offs_of(session, review_id=review.id) for link in other.evidence_links)
    return SignOffCard(
        initiative=initiative, review=review, sign_off=sign_off, gate_name=gate.name,
        from_stage_name=stage_name(catalog, review.from_stage), to_stage_name=stage_name(catalog, review.to_stage),
        role_name=catalog.role_name(sign_off.role), checklist=gate.checklist_for(sign_off.role),
        evidence_links=links,
        broken_links={url: flag for url, check in flagged_links(session, team_id=review.team_id, urls=links).items()
                      if (flag := shown_flag(check.state, check.detail))},
        automatic_results={item_id: (row.outcome, row.evidence or "") for item_id, row in
                           results_for(session, review_id=review.id, role=sign_off.role).items()},
    )


# The outbox intent "publish this person's App Home as it is when sent" (bot.notifications queues it).
HOME_INTENT = "home"


def render_home(session: Session, team_id: str, intent: dict[str, Any]) -> dict[str, Any]:
    """views.publish's payload for a Home intent, rendered by the sender (registered in bot.wiring)."""
    return {"user_id": intent["user_id"], "view": home_view(session, team_id=team_id, user_id=intent["user_id"])}


def home_view(session: Session, *, team_id: str, user_id: str) -> dict[str, Any]:
    catalog = catalog_for(session, team_id=team_id)
    return home.home(
        pending=pending_sign_offs_for(session, team_id=team_id, user_id=user_id),
        role_names={role.id: role.name for role in catalog.roles.values()},
        initiatives=list_initiatives(session, team_id=team_id, owner=user_id, limit=home.INITIATIVES_SHOWN),
        initiatives_total=count_initiatives(session, team_id=team_id, owner=user_id),
        catalog=catalog,
    )

