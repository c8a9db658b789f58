"""A small history to audit, made through the services as the bot would."""

from __future__ import annotations

from bot.services.access.visibility import Audience
from bot.services.initiatives.service import create_initiative, get_initiative
from bot.services.reviews import service as reviews
from storage.models import GateReview, SignOff
from tests.support.factories import TEAM, actor

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}


def decide_everything(runtime, key: str, *, team_id: str = TEAM, waive_item: str | None = None,
                      evidence: tuple[str, ...] = ()) -> None:  # type: ignore[no-untyped-def]
    """Submit `key` for its next gate and approve every sign-off as its assignee."""
    with runtime.transaction() as session:
        initiative = get_initiative(session, audience=Audience.workspace(team_id=team_id), key=key)
        review = reviews.submit_for_next_gate(session, actor=actor("UBIZ", team_id=team_id), initiative=initiative)
        sign_off_ids = [s.id for s in reviews.sign_offs_of(session, review_id=review.id)]
    for sign_off_id in sign_off_ids:
        with runtime.transaction() as session:
            sign_off = session.get(SignOff, sign_off_id)
            items = [i.id for i in reviews.checklist_of(session, sign_off, session.get(GateReview, sign_off.review_id))]
            waivers = {waive_item: "covered by the vendor's own assessment"} if waive_item in items else {}
            reviews.approve(session, actor=actor(sign_off.assignee, team_id=team_id), sign_off_id=sign_off_id,
                            ticked=[i for i in items if i not in waivers], waivers=waivers,
                            evidence_links=evidence if sign_off.role == "data" else ())


def new_initiative(runtime, title: str = "Fraud scoring", owners=OWNERS,
                   team_id: str = TEAM) -> str:  # type: ignore[no-untyped-def]
    with runtime.transaction() as session:
        return create_initiative(session, actor=actor("UBIZ", team_id=team_id), title=title, owners=owners).key
