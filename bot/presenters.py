"""Gathers, with services, what a view shows, so that views stay pure and listeners and handlers stay thin; and
renders the outbox's intents (registered in bot.wiring), from the database as it is when the sender sends them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.commands.registry import Reply
from bot.delivery.outbox import RENDER
from bot.services.access.service import Audience, UsersInfo, delegators, resolve_actor
from bot.services.attestation.service import FRESH, STALE, model_check_of, next_reattestation_of, open_flags
from bot.services.business_days import local_date
from bot.services.gates.service import ChecklistItem, catalog_for
from bot.services.initiatives.service import count_initiatives, list_initiatives, owners_of, stalled_initiatives
from bot.services.kpis.service import kpis_of, standings
from bot.services.nudges.scheduled import NUDGE_LOG, no_longer_listed
from bot.services.outcomes.service import standing_decision
from bot.services.regulation.service import standing_classification
from bot.services.reviews.service import (
    REATTESTATION,
    SETTLED,
    UTC_ZONE,
    deadline_of,
    decision_dates,
    gate_of,
    next_gate_target,
    open_review_of,
    sign_offs_of,
    work_calendar,
)
from bot.services.tracked_items import service as tracked_items
from bot.services.waiting.service import Blockers, Waits, blockers_of, waiting_on, what_waits
from bot.services.webhooks.service import flagged_links, results_for, shown_flag
from bot.views import desk, home, ids, messages, modals, replies
from bot.views.attestation import after_go_live_lines
from bot.views.conditions import ConditionView, condition_news
from bot.views.desk import MyInitiative
from bot.views.messages import SignOffCard
from bot.views.nudges import without_sign_offs
from bot.views.replies import stage_name
from storage.models import GateReview, Initiative, SignOff, TrackedItem
from storage.types import utcnow


def sign_off_card(session: Session, sign_off: SignOff, *, default_zone: ZoneInfo) -> SignOffCard:
    """`default_zone` (DEFAULT_TIMEZONE): the assignee's, until Slack has told us theirs."""
    review = session.get(GateReview, sign_off.review_id)
    assert review is not None
    calendar = work_calendar(session, team_id=review.team_id, default_zone=default_zone, people=[sign_off.assignee])
    initiative = session.get(Initiative, review.initiative_id)
    assert initiative is not None
    catalog = catalog_for(session, team_id=review.team_id, version=review.definition_version)
    gate = gate_of(session, review)
    links = tuple(link for other in sign_offs_of(session, review_id=review.id) for link in other.evidence_links)
    return SignOffCard(
        initiative=initiative, review=review, sign_off=sign_off, gate_name=gate.name,
        from_stage_name=stage_name(catalog, review.from_stage), to_stage_name=stage_name(catalog, review.to_stage),
        role_name=catalog.role_name(sign_off.role), checklist=gate.checklist_for(sign_off.role),
        due_at=deadline_of(calendar, sign_off=sign_off, review=review), reader_zone=calendar.zone(sign_off.assignee),
        evidence_links=links, kpi=next(iter(kpis_of(session, initiative_id=initiative.id)), None),
        broken_links={url: flag for url, check in flagged_links(session, team_id=review.team_id, urls=links).items()
                      if (flag := shown_flag(check.state, check.detail))},
        automatic_results={**{item_id: (row.outcome, row.evidence or "") for item_id, row in
                              results_for(session, review_id=review.id, role=sign_off.role).items()},
                           **_model_age_answers(session, initiative, gate.checklist_for(sign_off.role))},
        dates=decision_dates(session, review, today=local_date(utcnow(), calendar.zone(sign_off.assignee))),
        condition_days=gate.condition_days,
    )


def _model_age_answers(session: Session, initiative: Initiative,
                       items: tuple[ChecklistItem, ...]) -> dict[str, tuple[str, str]]:
    """Items a model's age answers ("Retrained within policy"), as automatic results: fresh passes (ticked for
    the owner), stale fails, and anything else (MLflow not asked, or could not answer) is unknown, never fresh."""
    wanted = [item.id for item in items if item.answered_by == "model_age"]
    if not wanted:
        return {}
    check = model_check_of(session, initiative=initiative)
    if check is None:
        answer = ("unknown", f"{initiative.key} names no MLflow model" if not initiative.mlflow_model
                  else f"{initiative.mlflow_model} not checked yet")
    else:
        answer = ({FRESH: "passed", STALE: "failed"}.get(check.state, "unknown"), check.evidence)
    return dict.fromkeys(wanted, answer)


def condition_views(session: Session, rows: Sequence[tuple[Initiative, TrackedItem]], *,
                    default_zone: ZoneInfo) -> list[ConditionView]:
    """Each item with its id and due instant (17:00 in its owner's zone on its due date), as lines show it."""
    calendar = work_calendar(session, team_id=rows[0][0].team_id, default_zone=default_zone,
                             people={item.owner for _, item in rows}) if rows else None
    now = utcnow()
    return [ConditionView(key=tracked_items.key_of(initiative, item), initiative=initiative, item=item,
                          due_at=tracked_items.due_at(calendar, item),
                          overdue=tracked_items.is_overdue(calendar, item, now))
            for initiative, item in rows if calendar is not None]


def initiative_card(session: Session, initiative: Initiative, *, default_zone: ZoneInfo, reader: str | None,
                    shared_by: str | None = None) -> Reply:
    """`/initiative show`'s card (`reader`: the person asking) or the one shared to a channel (`reader` None), with
    each pending sign-off's deadline; `default_zone` (DEFAULT_TIMEZONE) for people Slack has not told us about."""
    return replies.initiative_card(initiative, shared_by=shared_by,
                                   **_card_parts(session, initiative, default_zone=default_zone, reader=reader))


def initiative_modal(session: Session, initiative: Initiative, *, default_zone: ZoneInfo,
                     reader: str) -> dict[str, Any]:
    """The same card in a modal: what "View initiative" on a sign-off DM opens."""
    return modals.initiative_card(initiative,
                                  **_card_parts(session, initiative, default_zone=default_zone, reader=reader))


def _card_parts(session: Session, initiative: Initiative, *, default_zone: ZoneInfo,
                reader: str | None) -> dict[str, Any]:
    review = open_review_of(session, initiative_id=initiative.id)
    sign_offs = sign_offs_of(session, review_id=review.id) if review else []
    calendar = work_calendar(session, team_id=initiative.team_id, default_zone=default_zone,
                             people={*(s.assignee for s in sign_offs), *([reader] if reader else [])})
    catalog = catalog_for(session, team_id=initiative.team_id)
    waiting = what_waits(session, team_id=initiative.team_id, catalog=catalog, initiative_ids=[initiative.id])
    items = tracked_items.items_of(session, initiative_id=initiative.id)
    reader_zone = calendar.zones.get(reader) if reader else None
    today = local_date(utcnow(), reader_zone or default_zone)
    return {"owners": owners_of(session, initiative_id=initiative.id),
            "catalog": catalog, "review": review, "sign_offs": sign_offs,
            "deadlines": {s.id: deadline_of(calendar, sign_off=s, review=review)
                          for s in sign_offs if review is not None and s.id is not None and s.state == "pending"},
            "reader_zone": reader_zone,
            "standing": standing_decision(session, initiative=initiative),
            "classification": standing_classification(session, initiative=initiative),
            "after_go_live": after_go_live_lines(
                open_flags(session, team_id=initiative.team_id, initiative_ids=[initiative.id]),
                model_check_of(session, initiative=initiative), model_name=initiative.mlflow_model,
                next_reattestation=next_reattestation_of(session, initiative=initiative)
                if initiative.status == "active" and (review is None or review.kind != REATTESTATION) else None),
            "next_target": _next_target(session, initiative, zone=calendar.zone(reader) if reader else default_zone),
            "conditions": condition_views(session, [(initiative, item) for item in items], default_zone=default_zone),
            "waiting_on": Counter([*(p.assignee for p in waiting.sign_offs), *(i.owner for i in waiting.items)]),
            "kpis": standings(session, kpis=kpis_of(session, initiative_id=initiative.id), today=today,
                              stale_days=catalog.stage(initiative.stage).kpi_stale_days)}


def _next_target(session: Session, initiative: Initiative, *, zone: ZoneInfo) -> replies.NextTarget | None:
    """The next gate's target date, passed or not in `zone` (the reader's; the default zone for a channel)."""
    target = next_gate_target(session, initiative=initiative)
    return replies.NextTarget(on=target, passed=target < local_date(utcnow(), zone)) if target else None


# The outbox intent "publish this person's App Home as it is when sent" (bot.notifications queues it).
HOME_INTENT = "home"


def render_home(session: Session, team_id: str, intent: dict[str, Any], *, default_zone: ZoneInfo = UTC_ZONE,
                admin_user_ids: frozenset[str] = frozenset(),
                slack_roles: Callable[[str], UsersInfo] | None = None) -> dict[str, Any]:
    """views.publish's payload for a Home intent, rendered by the sender (registered in bot.wiring, which binds
    DEFAULT_TIMEZONE, ADMIN_USER_IDS and, with SLACK_ADMINS_ARE_ADMINS on, `slack_roles`: a workspace -> how
    users.info is asked there)."""
    user_id = intent["user_id"]
    reader = desk_reader(session, team_id=team_id, user_id=user_id, admin_user_ids=admin_user_ids,
                         users_info=slack_roles(team_id) if slack_roles is not None else None)
    return {"user_id": user_id, "view": home_view(session, team_id=team_id, user_id=user_id,
                                                  default_zone=default_zone, admin=reader.is_admin)}


def home_view(session: Session, *, team_id: str, user_id: str, now: datetime | None = None,
              default_zone: ZoneInfo = UTC_ZONE, admin: bool = False) -> dict[str, Any]:
    """The person's desk: what waits on them, the initiatives they own and, for an `admin` (as the person's
    commands are: `resolve_actor`), the portfolio."""
    now = now or utcnow()
    catalog = catalog_for(session, team_id=team_id)
    entries, zone = waiting_for(session, team_id=team_id, user_id=user_id, default_zone=default_zone, now=now)
    mine, total = my_initiatives(session, team_id=team_id, user_id=user_id, offset=0, limit=home.INITIATIVES_SHOWN)
    return home.home(waiting=entries, reader_zone=zone, initiatives=mine, initiatives_total=total, catalog=catalog,
                     portfolio=_portfolio(session, team_id=team_id, now=now) if admin else None, now=now)


def waiting_for(session: Session, *, team_id: str, user_id: str, default_zone: ZoneInfo,
                now: datetime | None = None) -> tuple[list[Waits], ZoneInfo]:
    """Everything waiting on a person, or on someone who delegated to them, oldest first (the Home's first section
    and `/initiative todo`), and their zone, in which its due dates are shown."""
    now = now or utcnow()
    owners = delegators(session, team_id=team_id, delegate=user_id, now=now)
    calendar = work_calendar(session, team_id=team_id, default_zone=default_zone, people={user_id, *owners})
    entries = waiting_on(session, team_id=team_id, catalog=catalog_for(session, team_id=team_id), person=user_id,
                         calendar=calendar, now=now, delegated_by=owners)
    return entries, calendar.zone(user_id)


def desk_reader(session: Session, *, team_id: str, user_id: str, admin_user_ids: frozenset[str],
                users_info: UsersInfo | None = None) -> Audience:
    """Who reads a Home the sender publishes, resolved as their commands are (`resolve_actor`): an admin
    (ADMIN_USER_IDS, added in the app, or, given `users_info` because SLACK_ADMINS_ARE_ADMINS is on, a Slack
    workspace admin or owner) sees the portfolio, confidential initiatives included, as the visibility rule lets
    admins."""
    return Audience.of(resolve_actor(team_id=team_id, user_id=user_id, admin_user_ids=admin_user_ids,
                                     admin_user_ids_team=team_id, session=session,
                                     slack_admins_are_admins=users_info is not None, users_info=users_info))


def my_initiatives(session: Session, *, team_id: str, user_id: str, offset: int,
                   limit: int) -> tuple[list[MyInitiative], int]:
    """The initiatives a person owns or recorded, from `offset` (at most `limit`), each with what it waits for;
    and how many there are."""
    reader = Audience.person(team_id=team_id, user_id=user_id)
    found = list_initiatives(session, audience=reader, owner=user_id, limit=offset + limit)[offset:]
    blockers = blockers_of(session, team_id=team_id, catalog=catalog_for(session, team_id=team_id),
                           initiative_ids=[i.id for i in found if i.id is not None])
    mine = []
    for initiative in found:
        standing = standing_decision(session, initiative=initiative) if initiative.status == "held" else None
        mine.append(MyInitiative(initiative, blockers.get(initiative.key, Blockers()),
                                 held_until=standing.revisit_on if standing is not None else None))
    return mine, count_initiatives(session, audience=reader, owner=user_id)


def _portfolio(session: Session, *, team_id: str, now: datetime) -> home.Portfolio:
    """What an admin sees of the whole portfolio, confidential initiatives included: a count per stage (in
    progress: active, paused and held), and the stalled ones."""
    admin = Audience.admin(team_id=team_id)
    return home.Portfolio(
        funnel={stage.name: count_initiatives(session, audience=admin, stage=stage.id)
                for stage in catalog_for(session, team_id=team_id).stages},
        stalled=stalled_initiatives(session, audience=admin, now=now))


def desk_page(session: Session, *, reader: Audience, page: ids.DeskPage, default_zone: ZoneInfo) -> dict[str, Any]:
    """A page of the "See all" modal of one of the Home's lists, as the list is now, for `reader` (the person who
    clicked, an admin or not as in their commands)."""
    assert reader.user_id is not None
    team_id, user_id = reader.team_id, reader.user_id
    now = utcnow()
    catalog = catalog_for(session, team_id=team_id)
    if page.list_id == ids.DESK_WAITING:
        entries, zone = waiting_for(session, team_id=team_id, user_id=user_id, default_zone=default_zone, now=now)
        return desk.waiting_page(entries, page, reader_zone=zone)
    if page.list_id == ids.DESK_INITIATIVES:
        mine, total = my_initiatives(session, team_id=team_id, user_id=user_id, offset=page.offset,
                                     limit=desk.PAGE_SIZE)
        return desk.initiatives_page(mine, page, total=total, catalog=catalog)
    return desk.stalled_page(stalled_initiatives(session, audience=reader, now=now), page, catalog=catalog, now=now)


# "Update the DM of sign-off S" (or the copy at `channel`/`ts` someone clicked), and "tell `channel` that sign-off S
# was decided, the `settled`th of `required`": queued by bot.notifications inside the decision's transaction.
SIGN_OFF_DM_INTENT, DECISION_NEWS_INTENT = "sign_off_dm", "decision_news"
# "Announce in `channel` that review R passed its gate."
GATE_PASSED_INTENT = "gate_passed"
_ADDRESS = ("channel", "ts")


def render_sign_off_dm(session: Session, team_id: str, intent: dict[str, Any], *,
                       default_zone: ZoneInfo) -> dict[str, Any]:
    """chat.update's payload for a sign-off's DM: its outcome without buttons once settled or moved (`moved_to`),
    the request with its buttons while pending. (bot.wiring binds `default_zone`.)"""
    sign_off = _sign_off(session, team_id, intent)
    card = sign_off_card(session, sign_off, default_zone=default_zone)
    moved_to = intent.get("moved_to")
    message = (messages.sign_off_request(card) if sign_off.state == "pending" and not moved_to
               else messages.sign_off_decided(card, moved_to=moved_to))
    return {**{key: intent[key] for key in _ADDRESS if key in intent}, **message.payload()}


def render_decision_news(session: Session, team_id: str, intent: dict[str, Any]) -> dict[str, Any]:
    """chat.postMessage's payload for the news of a decision, to an owner of the same review."""
    sign_off = _sign_off(session, team_id, intent)
    review = session.get(GateReview, sign_off.review_id)
    assert review is not None
    initiative = session.get(Initiative, review.initiative_id)
    assert initiative is not None
    catalog = catalog_for(session, team_id=team_id, version=review.definition_version)
    news = messages.decision_news(
        initiative, decider=sign_off.decided_by or sign_off.assignee, role_name=catalog.role_name(sign_off.role),
        decision=sign_off.state, gate_name=gate_of(session, review).name, settled=int(intent["settled"]),
        required=int(intent["required"]), comment=sign_off.comment,
    )
    return {"channel": intent["channel"], **news.payload()}


def render_gate_passed(session: Session, team_id: str, intent: dict[str, Any]) -> dict[str, Any]:
    """chat.postMessage's payload announcing that a review passed its gate, naming who signed off."""
    review = session.get(GateReview, int(intent["review_id"]))
    assert review is not None and review.team_id == team_id
    initiative = session.get(Initiative, review.initiative_id)
    assert initiative is not None
    catalog = catalog_for(session, team_id=team_id, version=review.definition_version)
    message = messages.gate_passed(
        initiative, gate_name=catalog.gate(review.gate_slug).name, to_stage_name=stage_name(catalog, review.to_stage),
        approvers=[s.decided_by or s.assignee for s in sign_offs_of(session, review_id=review.id)
                   if s.state in SETTLED],
    )
    return {"channel": intent["channel"], "unfurl_links": False, **message.payload()}


def _sign_off(session: Session, team_id: str, intent: dict[str, Any]) -> SignOff:
    sign_off = session.get(SignOff, int(intent["sign_off_id"]))
    assert sign_off is not None and sign_off.team_id == team_id
    return sign_off


# "Tell the owner of tracked item I that it was created, reassigned, met or cancelled (`what`) by `actor`."
CONDITION_NEWS_INTENT = "condition_news"


def render_condition_news(session: Session, team_id: str, intent: dict[str, Any]) -> dict[str, Any]:
    """chat.postMessage's payload for a condition's news to its owner (`channel`, the owner when it was queued)."""
    item = session.get(TrackedItem, int(intent["item_id"]))
    assert item is not None and item.team_id == team_id
    initiative = session.get(Initiative, item.initiative_id)
    assert initiative is not None
    news = condition_news(tracked_items.key_of(initiative, item), initiative, item, what=intent["what"],
                          actor=intent["actor"])
    return {"channel": intent["channel"], **news.payload()}


def render_nudge(session: Session, team_id: str, intent: dict[str, Any]) -> dict[str, Any] | None:
    """chat.postMessage's payload for a nudge or escalation DM, as the sweep rendered it without what was decided
    or closed since; None (withdrawn) when nothing it listed is left."""
    payload = {key: value for key, value in intent.items() if key not in (RENDER, NUDGE_LOG)}
    settled = no_longer_listed(session, team_id=team_id, log_id=int(intent[NUDGE_LOG]))
    if not settled.decided and not settled.closed:
        return payload
    return without_sign_offs(payload, settled.decided, settled.kind, settled.closed)
