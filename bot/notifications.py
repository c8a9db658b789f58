"""Domain events -> outbox rows: sign-off DMs and their in-place updates, news for the other owners, the
gate-passed announcement, and the App Home of each affected person (never the whole workspace).

Runs inside the transaction that caused the event (see `bot.runtime.Runtime.transaction`), so a DM exists
exactly when its review does. What a decision changes is not rendered here at all: the outbox gets intents
("update the DM of sign-off S", "tell U that S was decided", "announce that review R passed", "tell the owner of
condition C its news", "refresh U's Home"), which the sender renders when it sends them (bot/presenters.py). New
sign-off requests, and refreshes of pending ones (skipped when the DM already shows the same), are rendered here
once per event.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.config import Settings
from bot.delivery.messages import live_message, post_message, update_message
from bot.delivery.outbox import enqueue, enqueue_intent
from bot.presenters import (
    CONDITION_NEWS_INTENT,
    DECISION_NEWS_INTENT,
    GATE_PASSED_INTENT,
    HOME_INTENT,
    SIGN_OFF_DM_INTENT,
    sign_off_card,
)
from bot.services.access.service import Audience, delegates_of, list_admins, may_see
from bot.services.events import (
    AutomaticCheckChanged,
    ClassificationDecided,
    DelegationEnded,
    DomainEvent,
    EvidenceLinkChanged,
    InitiativeCreated,
    InitiativeFlagged,
    OutcomeDecided,
    OwnersChanged,
    PersonDeactivated,
    PortfolioImported,
    ReviewClosed,
    ReviewOpened,
    SignOffDecided,
    StatusChanged,
    TrackedItemChanged,
)
from bot.services.gates.service import catalog_for
from bot.services.initiatives.service import SPONSOR, owners_of
from bot.services.kpis.scheduled import ASKED_ROLE as KPI_ROLE
from bot.services.kpis.scheduled import kpis_asked_of
from bot.services.outcomes.scheduled import open_revisit_prompts
from bot.services.reviews.service import (
    REATTESTATION,
    SETTLED,
    lock_open_reviews,
    pending_sign_offs_for,
    sign_offs_of,
)
from bot.services.tracked_items.service import key_of, list_items
from bot.services.validation import USER_ID_PATTERN
from bot.services.webhooks.service import open_reviews_citing
from bot.views import messages, people
from bot.views.attestation import flag_news
from bot.views.blocks import Message
from bot.views.outcomes import outcome_news, revisit_decided
from bot.views.regulation import prohibited_alert
from bot.views.replies import stage_name
from bot.views.waivers import expired_waiver_news
from storage.models import (
    GateReview,
    Initiative,
    InitiativeClassification,
    InitiativeFlag,
    InitiativeOutcome,
    OutboxMessage,
    SignOff,
    SlackMessage,
    TrackedItem,
)
from storage.types import utcnow

log = logging.getLogger(__name__)
CONDITION_NEWS = ("created", "reassigned", "met", "cancelled")
MAX_REASSIGN_ITEMS = 200  # one person's open conditions: far more than anyone holds
_HOMES = "surface.home_publishes"


class SlackNotifications:
    """The event handler the Slack surface adds to `Runtime.event_handlers`."""

    def __init__(self, settings: Settings) -> None:
        self.digest_channel = settings.digest_channel
        self.default_zone = settings.default_zone
        self.admin_user_ids = settings.admin_user_ids

    def __call__(self, session: Session, event: DomainEvent) -> None:
        if isinstance(event, ReviewOpened):
            self._review_opened(session, event)
        elif isinstance(event, SignOffDecided):
            self._sign_off_decided(session, event)
        elif isinstance(event, ReviewClosed):
            self._review_closed(session, event)
        elif isinstance(event, OwnersChanged):
            self._owners_changed(session, event)
        elif isinstance(event, (InitiativeCreated, StatusChanged)):
            initiative = session.get(Initiative, event.initiative_id)
            assert initiative is not None
            people = [initiative.created_by, *owners_of(session, initiative_id=initiative.id).values()]
            republish_homes(session, team_id=event.team_id, user_ids=[*people, event.actor])
            if isinstance(event, StatusChanged) and event.status != "held":  # resumed, killed, retired
                close_revisit_prompts(session, initiative, revisit_decided(initiative, event.status, by=event.actor))
        elif isinstance(event, OutcomeDecided):
            self._outcome_decided(session, event)
        elif isinstance(event, ClassificationDecided) and event.blocked:
            self._classified_prohibited(session, event)
        elif isinstance(event, PortfolioImported):
            republish_homes(session, team_id=event.team_id, user_ids=event.people)
        elif isinstance(event, EvidenceLinkChanged):
            self._refresh_pending(session, open_reviews_citing(session, team_id=event.team_id, urls=[event.url]))
        elif isinstance(event, AutomaticCheckChanged):
            self._refresh_pending(session, [event.review_id], role=event.role)
        elif isinstance(event, InitiativeFlagged) and event.raised:
            self._flag_raised(session, event)
        elif isinstance(event, TrackedItemChanged):
            self._tracked_item_changed(session, event)
        elif isinstance(event, PersonDeactivated):
            self._person_deactivated(session, event)
        elif isinstance(event, DelegationEnded):  # the delegate's desk no longer lists what waits on the owner
            republish_homes(session, team_id=event.team_id, user_ids=[event.owner, event.delegate])


    def _tracked_item_changed(self, session: Session, event: TrackedItemChanged) -> None:
        """A condition set on someone, given to them, or closed by another is news to its owner; their Home (and
        the actor's) shows it. Being overdue is the nudges' and escalations' to tell."""
        item = session.get(TrackedItem, event.item_id)
        initiative = session.get(Initiative, event.initiative_id)
        assert item is not None and initiative is not None
        if event.what == "expired":
            news = expired_waiver_news(key_of(initiative, item), initiative, item)
            enqueue(session, team_id=event.team_id, method="chat.postMessage",
                    payload={"channel": item.owner, **news.payload()})
        elif event.what in CONDITION_NEWS and (event.what in ("created", "reassigned") or item.owner != event.actor):
            # An intent: a Conditional Go's transaction renders none of its news (the sender does, when sending).
            enqueue_intent(session, team_id=event.team_id, method="chat.postMessage", kind=CONDITION_NEWS_INTENT,
                           item_id=str(item.id), what=event.what, actor=event.actor, channel=item.owner)
        if event.what != "overdue":
            republish_homes(session, team_id=event.team_id,
                            user_ids=[item.owner, event.actor, *filter(None, [event.previous_owner])])

    def _person_deactivated(self, session: Session, event: PersonDeactivated) -> None:
        """Each pending sign-off (of a gate or a re-attestation), each open condition and each live initiative whose
        KPI actuals are asked of a deactivated owner: a "reassign needed" DM to the initiative's sponsor and to
        every admin, once each (deduplicated, so a second replica's or a repeated event's DMs are not sent twice).
        An initiative whose business sign-off of theirs waits is asked about once: reassigning it moves both."""
        admins = [entry.user_id for entry in list_admins(session, team_id=event.team_id,
                                                          admin_user_ids=self.admin_user_ids)]
        catalog = catalog_for(session, team_id=event.team_id)
        asked_about: set[tuple[int | None, str]] = set()
        for pending in pending_sign_offs_for(session, team_id=event.team_id, user_id=event.user_id):
            sign_off, review, initiative = pending.sign_off, pending.review, pending.initiative
            message = people.reassign_needed(initiative, role=sign_off.role,
                                             role_name=catalog.role_name(sign_off.role),
                                             gate_name=catalog.gate(review.gate_slug).name, deactivated=event.user_id)
            self._ask_to_reassign(session, event, initiative, message, admins, subject=f"{sign_off.id}")
            asked_about.add((initiative.id, sign_off.role))
        for initiative, kpi_names in kpis_asked_of(session, team_id=event.team_id, user_id=event.user_id):
            if (initiative.id, KPI_ROLE) not in asked_about:
                message = people.kpi_reassign_needed(initiative, role=KPI_ROLE, role_name=catalog.role_name(KPI_ROLE),
                                                     kpi_names=kpi_names, deactivated=event.user_id)
                self._ask_to_reassign(session, event, initiative, message, admins, subject=f"kpi:{initiative.id}")
        open_items, _ = list_items(session, audience=Audience.admin(team_id=event.team_id), owner=event.user_id,
                                   limit=MAX_REASSIGN_ITEMS)
        for initiative, item in open_items:
            message = people.condition_reassign_needed(key_of(initiative, item), initiative, item,
                                                       deactivated=event.user_id)
            self._ask_to_reassign(session, event, initiative, message, admins, subject=f"item:{item.id}")

    def _ask_to_reassign(self, session: Session, event: PersonDeactivated, initiative: Initiative, message: Message,
                         admins: list[str], *, subject: str) -> None:
        sponsor = owners_of(session, initiative_id=initiative.id).get(SPONSOR)  # type: ignore[arg-type]
        for recipient in dict.fromkeys([*([sponsor] if sponsor else []), *admins]):
            if recipient != event.user_id:
                enqueue(session, team_id=event.team_id, method="chat.postMessage",
                        payload={"channel": recipient, **message.payload()},
                        dedupe_key=f"reassign:{subject}:{event.user_id}:{recipient}")

    def _refresh_pending(self, session: Session, review_ids: Iterable[int], *, role: str | None = None) -> None:
        """A check changed what these reviews' DMs show: update the DMs still waiting for a decision (settled ones
        show their outcome and keep it). The reviews are locked so that no decision slips in between."""
        for review in lock_open_reviews(session, review_ids=review_ids):
            assert review.id is not None
            for sign_off in sign_offs_of(session, review_id=review.id):
                if sign_off.state == "pending" and role in (None, sign_off.role):
                    refresh_sign_off_request(session, sign_off, default_zone=self.default_zone)

    def _review_opened(self, session: Session, event: ReviewOpened) -> None:
        sign_offs = sign_offs_of(session, review_id=event.review_id)
        for sign_off in sign_offs:
            post_sign_off_request(session, sign_off, default_zone=self.default_zone)
        republish_homes(session, team_id=event.team_id, user_ids=[event.actor, *(s.assignee for s in sign_offs)])

    def _sign_off_decided(self, session: Session, event: SignOffDecided) -> None:
        decided = session.get(SignOff, event.sign_off_id)
        assert decided is not None
        update_sign_off_request(session, decided)
        sign_offs = sign_offs_of(session, review_id=event.review_id)
        counts = {"settled": str(sum(s.state in SETTLED for s in sign_offs)), "required": str(len(sign_offs))}
        others = {s.assignee for s in sign_offs if s.id != decided.id} - {event.actor}
        for user_id in sorted(others):
            enqueue_intent(session, team_id=event.team_id, method="chat.postMessage", kind=DECISION_NEWS_INTENT,
                           sign_off_id=str(decided.id), channel=user_id, **counts)
        republish_homes(session, team_id=event.team_id,
                        user_ids=[event.actor, *(s.assignee for s in sign_offs)])

    def _review_closed(self, session: Session, event: ReviewClosed) -> None:
        sign_offs = sign_offs_of(session, review_id=event.review_id)
        for sign_off in sign_offs:
            if sign_off.state == "cancelled":
                update_sign_off_request(session, sign_off)
        review = session.get(GateReview, event.review_id)
        if event.state == "passed" and review is not None and review.kind != REATTESTATION:
            self._announce_gate_passed(session, event)
        republish_homes(session, team_id=event.team_id, user_ids=[event.actor, *(s.assignee for s in sign_offs)])

    def _announce_gate_passed(self, session: Session, event: ReviewClosed) -> None:
        initiative = session.get(Initiative, event.initiative_id)
        assert initiative is not None
        channel = initiative.channel_id or self.digest_channel
        if not channel:
            log.info("%s passed review %s; no channel to announce it in", initiative.key, event.review_id)
            return
        if not may_see(Audience.channel(team_id=event.team_id, channel_id=channel), initiative):
            log.info("%s passed review %s; not announced in %s, where not everyone may see it", initiative.key,
                     event.review_id, channel)
            return
        post_message(session, team_id=event.team_id, kind=GATE_PASSED, subject=event.review_id,
                     intent={"kind": GATE_PASSED_INTENT, "review_id": str(event.review_id), "channel": channel})

    def _flag_raised(self, session: Session, event: InitiativeFlagged) -> None:
        """The sponsor and the admins are told, in a DM, that the initiative was flagged and why."""
        initiative, flag = session.get(Initiative, event.initiative_id), session.get(InitiativeFlag, event.flag_id)
        assert initiative is not None and flag is not None
        news = flag_news(initiative, flag, stage_name=stage_name(catalog_for(session, team_id=event.team_id),
                                                                 initiative.stage))
        sponsor = owners_of(session, initiative_id=initiative.id).get(SPONSOR)
        admins = [entry.user_id for entry in list_admins(session, team_id=event.team_id,
                                                         admin_user_ids=self.admin_user_ids)]
        for user_id in dict.fromkeys([*([sponsor] if sponsor else []), *admins]):
            enqueue(session, team_id=event.team_id, method="chat.postMessage",
                    payload={"channel": user_id, **news.payload()})
        republish_homes(session, team_id=event.team_id, user_ids=[*([sponsor] if sponsor else []), *admins])

    def _outcome_decided(self, session: Session, event: OutcomeDecided) -> None:
        """Each owner but the one who decided is told, in a DM, that the initiative was held, recycled or killed."""
        initiative = session.get(Initiative, event.initiative_id)
        outcome = session.get(InitiativeOutcome, event.outcome_id)
        assert initiative is not None and outcome is not None
        catalog = catalog_for(session, team_id=event.team_id)
        news = outcome_news(initiative, outcome, what=event.what, actor=event.actor,
                            stage_name=stage_name(catalog, outcome.stage),
                            to_stage_name=stage_name(catalog, outcome.to_stage) if outcome.to_stage else None)
        for user_id in sorted(set(owners_of(session, initiative_id=initiative.id).values()) - {event.actor}):
            enqueue(session, team_id=event.team_id, method="chat.postMessage",
                    payload={"channel": user_id, **news.payload()})
        if event.what == "hold_extended":  # asked again on the new date; the prompts so far are answered
            close_revisit_prompts(session, initiative, revisit_decided(initiative, "extended", by=event.actor,
                                                                       revisit_on=outcome.revisit_on))

    def _classified_prohibited(self, session: Session, event: ClassificationDecided) -> None:
        """Every admin is told, in a DM, that an initiative's classification blocks its gates."""
        initiative = session.get(Initiative, event.initiative_id)
        row = session.get(InitiativeClassification, event.classification_id)
        assert initiative is not None and row is not None
        alert = prohibited_alert(initiative, row)
        for admin in list_admins(session, team_id=event.team_id, admin_user_ids=self.admin_user_ids):
            enqueue(session, team_id=event.team_id, method="chat.postMessage",
                    payload={"channel": admin.user_id, **alert.payload()})

    def _owners_changed(self, session: Session, event: OwnersChanged) -> None:
        for sign_off_id in event.moved_sign_off_ids:
            sign_off = session.get(SignOff, sign_off_id)
            assert sign_off is not None
            update_sign_off_request(session, sign_off, moved_to=sign_off.assignee)
            post_sign_off_request(session, sign_off, default_zone=self.default_zone)
        people = [user for _, old, new in event.changes for user in (old, new) if user]
        republish_homes(session, team_id=event.team_id, user_ids=[event.actor, *people])


# ---- messages that are updated later: registered in slack_message (bot/delivery/messages.py) ----------------
SIGN_OFF_REQUEST, GATE_PASSED = "sign_off_request", "gate_passed"


def post_sign_off_request(session: Session, sign_off: SignOff, *, default_zone: ZoneInfo) -> SlackMessage:
    """One DM to the sign-off's assignee, registered as the sign-off's live DM so that it can be updated later."""
    assert sign_off.id is not None
    message = messages.sign_off_request(sign_off_card(session, sign_off, default_zone=default_zone))
    return post_message(session, team_id=sign_off.team_id, kind=SIGN_OFF_REQUEST, subject=sign_off.id,
                        payload={"channel": sign_off.assignee, **message.payload()})


def update_sign_off_request(session: Session, sign_off: SignOff, *, moved_to: str | None = None,
                            channel: str | None = None, ts: str | None = None) -> OutboxMessage | None:
    """chat.update the sign-off's DM to show its outcome without buttons (rendered by the sender when it sends it,
    from the sign-off as it is then). With `channel` and `ts` (a click on an older copy), that message is updated;
    otherwise the sign-off's live DM, once its post and the updates queued before this one have been delivered."""
    assert sign_off.id is not None
    intent = {"kind": SIGN_OFF_DM_INTENT, "sign_off_id": str(sign_off.id)}
    if moved_to:
        intent["moved_to"] = moved_to
    if channel and ts:
        return enqueue_intent(session, team_id=sign_off.team_id, method="chat.update", channel=channel, ts=ts,
                              **intent)
    live = live_message(session, team_id=sign_off.team_id, kind=SIGN_OFF_REQUEST, subject=sign_off.id)
    return update_message(session, live, intent=intent) if live is not None else None


def refresh_sign_off_request(session: Session, sign_off: SignOff, *, default_zone: ZoneInfo) -> OutboxMessage | None:
    """chat.update a pending sign-off's DM (buttons kept) to show what it shows now: flagged links, automatic
    results. Nothing is enqueued when the DM as last posted or updated already shows exactly that."""
    assert sign_off.id is not None
    live = live_message(session, team_id=sign_off.team_id, kind=SIGN_OFF_REQUEST, subject=sign_off.id)
    if live is None:
        return None
    message = messages.sign_off_request(sign_off_card(session, sign_off, default_zone=default_zone))
    return update_message(session, live, payload=message.payload(), unless_shown=True)


def close_revisit_prompts(session: Session, initiative: Initiative, decided: Message) -> None:
    """chat.update the hold's revisit prompts that still show their buttons, to say what was decided instead: a
    decision taken elsewhere (a modal, a command) must not leave a prompt that offers it again."""
    for prompt in open_revisit_prompts(session, initiative=initiative):
        update_message(session, prompt, payload=decided.payload())


# ---- end of registered messages --------------------------------------------------------------------------------


def republish_homes(session: Session, *, team_id: str, user_ids: Iterable[str]) -> None:
    """Queue "publish this person's App Home" for each person, and for whoever they delegated to (whose desk lists
    what waits on them too); the sender renders it when it sends it. Within one transaction a person gets one such
    intent, however many events touch them."""
    queued = _homes_queued(session)
    people = [user_id for user_id in dict.fromkeys(user_ids) if USER_ID_PATTERN.match(user_id or "")]  # not "system"
    people += sorted(delegates_of(session, team_id=team_id, owners=people, now=utcnow()) - set(people))
    for user_id in people:
        row = queued.get((team_id, user_id))
        if row is None or row not in session:  # not yet, or a rolled-back savepoint took it
            queued[(team_id, user_id)] = enqueue_intent(session, team_id=team_id, method="views.publish",
                                                        kind=HOME_INTENT, user_id=user_id)


def _homes_queued(session: Session) -> dict[tuple[str, str], OutboxMessage]:
    """The Home intents queued in the session's current transaction (a session may live through several)."""
    transaction = session.get_transaction()
    queued = session.info.get(_HOMES)
    if queued is None or queued[0] is not transaction:
        queued = session.info[_HOMES] = (transaction, {})
    return queued[1]

