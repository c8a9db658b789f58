"""Outbound webhooks: admins register endpoints; domain events become delivery rows in the same transaction.

The event documents are schema version 1 (docs/integrations.md, docs/webhook-events.schema.json). Delivery
itself (HTTP, retries, disabling a failing endpoint) is `bot.services.webhooks.scheduled`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.integrations.targets import OutboundError, vet, webhook_policy
from bot.integrations.webhooks import new_secret
from bot.services.access.service import Actor, require_admin
from bot.services.audit.service import record_audit
from bot.services.errors import Conflict, InvalidInput, NotFound
from bot.services.events import (
    ClassificationDecided,
    DigestPosted,
    DomainEvent,
    GateDecided,
    InitiativeCreated,
    InitiativeFlagged,
    KpiRecorded,
    OutcomeDecided,
    ReviewOpened,
    SignOffDecided,
    StageChanged,
    TrackedItemChanged,
)
from bot.services.tracked_items.service import key_of
from bot.services.validation import clean_characters
from bot.services.webhooks.automatic_checks import AutomaticCheckEvents, results_for
from bot.services.webhooks.event_types import EVENT_TYPES
from bot.services.webhooks.evidence import (
    BrokenLink,
    EvidenceEvents,
    broken_links,
    flagged_links,
    open_reviews_citing,
    shown_flag,
)
from storage.models import (
    GateReview,
    Initiative,
    InitiativeClassification,
    InitiativeFlag,
    InitiativeOutcome,
    Kpi,
    KpiActual,
    SignOff,
    TrackedItem,
    WebhookDelivery,
    WebhookEndpoint,
)
from storage.types import utcnow

# The domain's public face: what the rest of the bot may call (its other modules are internals).
__all__ = [
    "EVENT_TYPES", "MAX_URL_LENGTH", "OUTCOME_EVENTS", "SCHEMA_VERSION", "SKIP_CONFIDENTIAL", "TRACKED_ITEM_EVENTS",
    "AutomaticCheckEvents", "BrokenLink", "EvidenceEvents", "Registered", "WebhookEvents", "add_endpoint",
    "broken_links", "claim_due", "event_document", "flagged_links", "list_endpoints", "open_reviews_citing",
    "remove_endpoint", "results_for", "shown_flag"
]

SCHEMA_VERSION = 1
MAX_URL_LENGTH = 2000


SKIP_CONFIDENTIAL = "skip-confidential"  # in `webhooks add`'s event list: no events about confidential ones

@dataclass(frozen=True)
class Registered:
    endpoint: WebhookEndpoint
    secret: str  # shown once; only the receiver keeps it


def add_endpoint(session: Session, *, actor: Actor, settings: Settings, url: str,
                 events: list[str] | None = None) -> Registered:
    """Register a receiver for some (default: all) event types; `skip-confidential` among `events` keeps events
    about confidential initiatives from it. Admins only; audited without the secret."""
    require_admin(actor, doing="register webhooks")
    events = list(events or [])
    skip_confidential = SKIP_CONFIDENTIAL in [e.strip().lower() for e in events]
    events = [e for e in events if e.strip().lower() != SKIP_CONFIDENTIAL]
    url = clean_characters(url).strip().strip("<>")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"That URL is longer than {MAX_URL_LENGTH} characters; use a shorter endpoint URL.")
    try:
        vet(url, webhook_policy(settings))
    except OutboundError as exc:
        raise InvalidInput(f"Cannot send webhooks there: {exc}. Use a public https:// URL such as "
                           f"https://hooks.example.com/initiatives (or a host in WEBHOOK_ALLOWED_HOSTS).") from None
    chosen = _check_events(events or [])
    endpoint = WebhookEndpoint(team_id=actor.team_id, url=url, secret=new_secret(), events=chosen,
                               skip_confidential=skip_confidential, created_by=actor.user_id)
    try:
        with session.begin_nested():
            session.add(endpoint)
            session.flush()
    except IntegrityError:
        raise Conflict("That URL is already registered; remove it first to get a new secret.") from None
    record_audit(session, team_id=actor.team_id, actor=actor.user_id, action="webhook.added",
                 subject_type="webhook", subject_key=f"webhook-{endpoint.id}",
                 after={"url": url, "events": chosen or list(EVENT_TYPES), "skip_confidential": skip_confidential})
    return Registered(endpoint=endpoint, secret=endpoint.secret)


def list_endpoints(session: Session, *, actor: Actor) -> list[WebhookEndpoint]:
    require_admin(actor, doing="see webhooks")
    query = select(WebhookEndpoint).where(WebhookEndpoint.team_id == actor.team_id)
    return list(session.exec(query.order_by(col(WebhookEndpoint.id))))


def remove_endpoint(session: Session, *, actor: Actor, ref: str) -> WebhookEndpoint:
    """Remove an endpoint by its number or URL; its undelivered events go with it."""
    require_admin(actor, doing="remove webhooks")
    ref = ref.strip().strip("<>")
    query = select(WebhookEndpoint).where(WebhookEndpoint.team_id == actor.team_id)
    query = query.where(WebhookEndpoint.id == int(ref)) if ref.isdigit() else query.where(WebhookEndpoint.url == ref)
    endpoint = session.exec(query).first()
    if endpoint is None:
        raise NotFound(f"There is no webhook '{ref[:80]}'; `webhooks list` shows their numbers.")
    session.exec(  # type: ignore[call-overload]
        update(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id)
        .values(state="failed", last_error="endpoint removed", finished_at=utcnow())
        .where(col(WebhookDelivery.state) == "pending")
    )
    record_audit(session, team_id=actor.team_id, actor=actor.user_id, action="webhook.removed",
                 subject_type="webhook", subject_key=f"webhook-{endpoint.id}",
                 before={"url": endpoint.url, "events": endpoint.events or list(EVENT_TYPES)})
    session.delete(endpoint)
    session.flush()
    return endpoint


def _check_events(events: list[str]) -> list[str]:
    wanted = [e.strip().lower() for e in events if e.strip()]
    if wanted in ([], ["all"]):
        return []
    unknown = [e for e in wanted if e not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(f"'{unknown[0][:40]}' is not an event; choose from {', '.join(EVENT_TYPES)} (or all).")
    return sorted(set(wanted), key=EVENT_TYPES.index)


class WebhookEvents:
    """Domain-event handler: one pending delivery per subscribed, enabled endpoint, in the event's transaction."""

    def __call__(self, session: Session, event: DomainEvent) -> None:
        built = event_document(session, event)
        if built is None:
            return
        event_type, data = built
        endpoints = session.exec(select(WebhookEndpoint).where(
            WebhookEndpoint.team_id == event.team_id, col(WebhookEndpoint.enabled).is_(True))).all()
        now = utcnow()
        for endpoint in endpoints:
            if endpoint.events and event_type not in endpoint.events:
                continue
            if endpoint.skip_confidential and data.get("initiative", {}).get("confidential"):
                continue
            document = {"type": event_type, "schema_version": SCHEMA_VERSION, "timestamp": _iso(now),
                        "team_id": event.team_id, "data": data}
            session.add(WebhookDelivery(team_id=event.team_id, endpoint_id=endpoint.id,
                                        message_id=f"msg_{uuid.uuid4().hex}", event_type=event_type,
                                        payload=document, next_attempt_at=now))
        session.flush()


def event_document(session: Session, event: DomainEvent) -> tuple[str, dict[str, Any]] | None:
    """(type, data) of the webhook for a domain event, or None if the event has no webhook."""
    if isinstance(event, DigestPosted):
        return "digest.posted", {"actor": event.actor, "digest": {
            "name": event.digest_name, "week": event.week, "channel_id": event.channel_id, "ts": event.ts}}
    initiative_id = getattr(event, "initiative_id", None)
    initiative = session.get(Initiative, initiative_id) if initiative_id is not None else None
    if initiative is None:
        return None
    base: dict[str, Any] = {"actor": event.actor, "initiative": _initiative(initiative)}
    if isinstance(event, InitiativeCreated):
        return "initiative.created", base
    if isinstance(event, ReviewOpened):
        review = session.get(GateReview, event.review_id)
        return ("review.opened", {**base, "review": _review(review)}) if review else None
    if isinstance(event, SignOffDecided):
        review, sign_off = session.get(GateReview, event.review_id), session.get(SignOff, event.sign_off_id)
        if review is None or sign_off is None:
            return None
        return "signoff.decided", {**base, "review": _review(review), "sign_off": {
            "id": sign_off.id, "role": sign_off.role, "decision": event.decision, "decided_by": sign_off.decided_by,
            "decided_at": _iso(sign_off.decided_at), "comment": sign_off.comment,
            "evidence_links": list(sign_off.evidence_links)}}
    if isinstance(event, StageChanged):
        return "stage.changed", {**base, "from_stage": event.from_stage, "to_stage": event.to_stage,
                                 "review_id": event.review_id}
    if isinstance(event, ClassificationDecided):
        row = session.get(InitiativeClassification, event.classification_id)
        return ("initiative.classified", {**base, "classification": _classification(row)}) if row else None
    if isinstance(event, InitiativeFlagged):
        flag = session.get(InitiativeFlag, event.flag_id)
        if flag is None:
            return None
        return (f"initiative.{event.kind}" if event.raised else "initiative.flag_cleared"), {**base, "flag": {
            "kind": flag.kind, "detail": flag.detail, "raised_by": flag.raised_by, "raised_at": _iso(flag.raised_at),
            "cleared_by": flag.cleared_by, "cleared_at": _iso(flag.cleared_at)}}
    if isinstance(event, GateDecided):
        return "gate.decided", {**base, "gate": event.gate_id, "outcome": event.outcome,
                                "review_id": event.review_id,
                                "target_on": event.target_on.isoformat() if event.target_on else None}
    if isinstance(event, KpiRecorded):
        kpi, actual = session.get(Kpi, event.kpi_id), session.get(KpiActual, event.actual_id)
        return ("kpi.recorded", {**base, "kpi": _kpi(kpi), "actual": _actual(actual, corrected=event.corrected)}
                if kpi and actual else None)
    if isinstance(event, OutcomeDecided) and event.what in OUTCOME_EVENTS:
        outcome = session.get(InitiativeOutcome, event.outcome_id)
        return (OUTCOME_EVENTS[event.what], {**base, "outcome": _outcome(outcome)}) if outcome else None
    if isinstance(event, TrackedItemChanged) and (event.kind, event.what) in TRACKED_ITEM_EVENTS:
        item = session.get(TrackedItem, event.item_id)
        return ((TRACKED_ITEM_EVENTS[(event.kind, event.what)], {**base, event.kind: _tracked(initiative, item)})
                if item else None)
    return None


# Changes of tracked items that have a webhook (a cancellation or a reassignment is in the audit trail only).
TRACKED_ITEM_EVENTS = {("condition", "created"): "condition.created", ("condition", "met"): "condition.met",
                       ("condition", "overdue"): "condition.overdue", ("waiver", "expired"): "waiver.expired"}


def _tracked(initiative: Initiative, item: TrackedItem) -> dict[str, Any]:
    return {"id": key_of(initiative, item), "gate": item.gate_slug, "checklist_item": item.checklist_item,
            "text": item.text, "owner": item.owner,
            "due_on": item.due_on.isoformat(), "state": item.state, "created_by": item.created_by,
            "created_at": _iso(item.created_at), "closed_by": item.closed_by,
            "closed_at": _iso(item.closed_at), "evidence": item.evidence,
            "evidence_links": list(item.evidence_links)}


# The outcome events' webhooks, named as their audit actions. An extension's outcome is the hold, with its new
# revisit date (`data.actor` extended it; `outcome.decided_by` put it on hold).
OUTCOME_EVENTS = {"held": "initiative.held", "hold_extended": "initiative.hold_extended",
                  "recycled": "initiative.recycled", "killed": "initiative.killed"}


def _outcome(outcome: InitiativeOutcome) -> dict[str, Any]:
    return {"kind": outcome.kind, "stage": outcome.stage, "to_stage": outcome.to_stage, "reason": outcome.reason,
            "lessons": outcome.lessons, "revisit_on": outcome.revisit_on.isoformat() if outcome.revisit_on else None,
            "decided_by": outcome.decided_by, "decided_at": _iso(outcome.decided_at)}


def _classification(row: InitiativeClassification) -> dict[str, Any]:
    return {"derived_tier": row.derived_tier, "risk_tier": row.risk_tier,
            "questionnaire_version": row.questionnaire_version, "rationale": row.rationale,
            "decided_by": row.decided_by, "decided_at": _iso(row.decided_at)}


def _kpi(kpi: Kpi) -> dict[str, Any]:
    return {"name": kpi.name, "unit": kpi.unit, "direction": kpi.direction, "baseline": kpi.baseline,
            "target": kpi.target, "target_date": kpi.target_date.isoformat() if kpi.target_date else None}


def _actual(actual: KpiActual, *, corrected: bool) -> dict[str, Any]:
    return {"value": actual.value, "measured_on": actual.measured_on.isoformat(), "note": actual.note,
            "recorded_by": actual.recorded_by, "recorded_at": _iso(actual.recorded_at), "corrected": corrected}


def _initiative(initiative: Initiative) -> dict[str, Any]:
    return {"key": initiative.key, "title": initiative.title, "stage": initiative.stage,
            "risk_tier": initiative.risk_tier, "status": initiative.status, "confidential": initiative.confidential}


def _review(review: GateReview) -> dict[str, Any]:
    return {"id": review.id, "kind": review.kind, "gate": review.gate_slug, "from_stage": review.from_stage,
            "to_stage": review.to_stage,
            "state": review.state, "opened_by": review.opened_by, "opened_at": _iso(review.opened_at),
            "definition_version": review.definition_version}


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if at else None


# Delivery bookkeeping, used by the delivery job. Each runs in its own short transaction.

def claim_due(session: Session, *, now: datetime, claim_seconds: float, limit: int) -> list[WebhookDelivery]:
    """Claim due deliveries by compare-and-set, so two workers never post the same one at once."""
    due = session.exec(select(WebhookDelivery.id).where(
        WebhookDelivery.state == "pending", col(WebhookDelivery.next_attempt_at) <= now,
        (col(WebhookDelivery.claimed_until).is_(None)) | (col(WebhookDelivery.claimed_until) < now),
    ).order_by(col(WebhookDelivery.id)).limit(limit)).all()
    claimed = []
    for delivery_id in due:
        token = str(uuid.uuid4())
        result = session.execute(update(WebhookDelivery).where(
            col(WebhookDelivery.id) == delivery_id, col(WebhookDelivery.state) == "pending",
            (col(WebhookDelivery.claimed_until).is_(None)) | (col(WebhookDelivery.claimed_until) < now),
        ).values(claim_token=token, claimed_until=now + timedelta(seconds=claim_seconds)))
        if result.rowcount == 1:
            claimed.append(delivery_id)
    return [d for d in (session.get(WebhookDelivery, i) for i in claimed) if d is not None]
