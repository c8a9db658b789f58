"""Gate reviews and sign-offs: submit, approve, request changes, waive, pass the gate.

Decisions on one review are serialised by locking the review row, and each sign-off's decision is written by a
compare-and-set update (`WHERE state = 'pending'`), so two clicks, two replicas or two roles approving at
once record exactly one decision each and pass the gate exactly once.

The initiative's lifecycle is here too: pause, resume, retire, and the admin's stage override, each cancelling
the open review when it no longer makes sense.

Hold, recycle and kill, the sponsor's decisions, live in bot/services/outcomes and change the status through
`set_status`, so every status change is audited and announced the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.integrations.targets import OutboundPolicy, vet_each
from bot.services.access.service import Actor, Audience, acting_for, on_behalf, require_admin, visible_to, zone_for
from bot.services.audit.service import record_audit, record_audit_at_once
from bot.services.business_days import local_date, nth_business_day_after
from bot.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.services.events import GateDecided, ReviewClosed, ReviewOpened, SignOffDecided, StatusChanged, emit
from bot.services.gates.service import ChecklistItem, Gate, catalog_for
from bot.services.initiatives.service import change_stage, owners_of, require_manager
from bot.services.reviews.deadlines import deadline_of, work_calendar
from bot.services.reviews.decision_record import (
    DecisionRecord,
    GateRecord,
    Signature,
    build_decision_record,
    classification_lines,
    condition_record_line,
    load_snapshot,
    outcome_line,
    render_markdown,
)
from bot.services.tracked_items import service as tracked_items
from bot.services.tracked_items.service import DraftCondition
from bot.services.validation import COMMENT, EVIDENCE_LINKS, REASON, clean_characters, clean_reason, clean_text
from storage.models import ChecklistWaiver, GateReview, Initiative, SignOff, StageTransition
from storage.types import utcnow

# The domain's public face: what the rest of the bot may call (its other modules are internals).
__all__ = [
    "MAX_EVIDENCE_LINKS", "MAX_EVIDENCE_LINK_LENGTH", "MAX_TARGET_DAYS", "MAX_WAIVER_DAYS", "PROHIBITED",
    "REATTESTATION", "SETTLED", "TARGET_ON", "UTC_ZONE", "WAIVERS_EXPIRE_ON", "ChecklistIncomplete", "Decision",
    "DecisionDates", "DecisionRecord", "GateRecord", "PendingSignOff", "Signature", "VettedLinks", "approve",
    "build_decision_record", "cancel_open_review", "check_evidence_links", "check_waiver_expiry", "checklist_of",
    "classification_lines", "condition_record_line", "deadline_of", "decider_today", "decision_dates", "gate_of",
    "load_snapshot", "lock_open_reviews", "move_stage", "next_gate_target", "next_pending_on_review",
    "open_review_of", "outcome_line", "pause", "pending_sign_offs_for", "render_markdown", "request_changes",
    "resume", "retire", "set_status", "sign_off_to_decide", "sign_offs_of", "submit_for_next_gate",
    "vet_evidence_links", "waive", "work_calendar"
]

SETTLED = ("approved", "waived")
# The classification (bot/services/regulation) that blocks every gate while it stands.
PROHIBITED = "prohibited"
REATTESTATION = "reattestation"  # a GateReview's kind for a stage's periodic re-attestation (bot/services/attestation)
UTC_ZONE = ZoneInfo("UTC")
MAX_EVIDENCE_LINKS = 10
MAX_EVIDENCE_LINK_LENGTH = 500
# The fields a bad date is shown under, named after `approve`'s arguments.
WAIVERS_EXPIRE_ON = "waivers_expire_on"
TARGET_ON = "target_on"
MAX_WAIVER_DAYS = 366  # calendar days ahead: a waiver is a temporary exemption, renewed if still needed
MAX_TARGET_DAYS = 3 * 366


class ChecklistIncomplete(InvalidInput):
    """Some checklist items are neither ticked nor waived with a reason. `problems` maps item id -> message."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("Tick every checklist item, or waive it with a reason.")


@dataclass(frozen=True)
class Decision:
    """The outcome of a decision request. `recorded` is False when the sign-off had already been decided."""

    sign_off: SignOff
    review: GateReview
    initiative: Initiative
    recorded: bool
    gate_passed: bool = False


@dataclass(frozen=True)
class VettedLinks:
    """Evidence links whose hosts were vetted before the decision's transaction (`vet_evidence_links`): the links
    as they are stored, or what is wrong with them, told in its turn after the checklist's problems."""

    links: tuple[str, ...] = ()
    problem: InvalidInput | None = None


@dataclass(frozen=True)
class DecisionDates:
    """The dates an approver is offered: when waivers given now expire (the gate's `waiver_days` business days
    from today), and the target date for passing the next gate (the `target_days` of the stage the review leads
    into; None without one). `next_gate_name` is None when the review leads into the last stage."""

    today: date
    waivers_expire_on: date
    target_on: date | None
    next_gate_name: str | None


@dataclass(frozen=True)
class PendingSignOff:
    sign_off: SignOff
    review: GateReview
    initiative: Initiative


def gate_of(session: Session, review: GateReview) -> Gate:
    """The gate as defined in the version the review is pinned to."""
    catalog = catalog_for(session, team_id=review.team_id, version=review.definition_version)
    return catalog.gate(review.gate_slug)


def decision_dates(session: Session, review: GateReview, *, today: date) -> DecisionDates:
    catalog = catalog_for(session, team_id=review.team_id, version=review.definition_version)
    gate = catalog.gate(review.gate_slug)
    next_gate = catalog.next_gate(review.to_stage)
    target_days = catalog.stage(review.to_stage).target_days
    return DecisionDates(
        today=today,
        waivers_expire_on=nth_business_day_after(today, gate.waiver_days, catalog.holidays),
        target_on=nth_business_day_after(today, target_days, catalog.holidays) if next_gate and target_days else None,
        next_gate_name=next_gate.name if next_gate else None,
    )


def decider_today(session: Session, *, actor: Actor, now: datetime, default_zone: ZoneInfo = UTC_ZONE) -> date:
    """Today in the decider's zone: what "after today" means for the dates they pick."""
    return local_date(now, zone_for(session, team_id=actor.team_id, user_id=actor.user_id, default=default_zone))


def next_gate_target(session: Session, *, initiative: Initiative) -> date | None:
    """The target date for passing the next gate, set when the gate into the current stage passed. Any other way
    into the stage (a recycle, an admin's move) sets none, so a target never outlives its stage."""
    transition = session.get(StageTransition, initiative.current_transition_id)
    review = session.get(GateReview, transition.review_id) if transition and transition.review_id else None
    return review.next_target_on if review and review.state == "passed" else None


def checklist_of(session: Session, sign_off: SignOff, review: GateReview) -> tuple[ChecklistItem, ...]:
    return gate_of(session, review).checklist_for(sign_off.role)


def open_review_of(session: Session, *, initiative_id: int) -> GateReview | None:
    return session.exec(
        select(GateReview).where(GateReview.initiative_id == initiative_id, GateReview.state == "open")
    ).first()


def sign_offs_of(session: Session, *, review_id: int) -> list[SignOff]:
    return list(session.exec(select(SignOff).where(SignOff.review_id == review_id).order_by(col(SignOff.id))))


def lock_open_reviews(session: Session, *, review_ids: Iterable[int]) -> list[GateReview]:
    """The open reviews among `review_ids`, locked in id order as a decision locks its review: a job that then
    re-renders their sign-off DMs sees every decision made before it, and later decisions queue behind it (so
    their DM updates come after the job's). Take these locks before any other row lock, as a decision does."""
    wanted = sorted(set(review_ids))
    if not wanted:
        return []
    return list(session.exec(
        select(GateReview).where(col(GateReview.id).in_(wanted), GateReview.state == "open")
        .order_by(col(GateReview.id)).with_for_update().execution_options(populate_existing=True)
    ))


def submit_for_next_gate(session: Session, *, actor: Actor, initiative: Initiative,
                         now: datetime | None = None) -> GateReview:
    """Open the review of the next gate, with one pending sign-off per required role."""
    require_manager(session, actor=actor, initiative=initiative, doing="submit it")
    if initiative.status != "active":
        raise Conflict(f"{initiative.key} is {initiative.status}; only active initiatives can be submitted.")
    if initiative.classified_tier == PROHIBITED:
        raise Conflict(f"{initiative.key} is classified prohibited (EU AI Act Art. 5): no gate can be passed. "
                       f"If the answers were wrong, `/initiative classify {initiative.key}` again.")
    existing = open_review_of(session, initiative_id=initiative.id)
    if existing and existing.kind == REATTESTATION:
        raise Conflict(f"{initiative.key} has a re-attestation waiting for its owners; it must be answered first.")
    if existing:
        raise Conflict(f"{initiative.key} already has an open review for {existing.to_stage}; "
                       f"it must be decided first.")
    catalog = catalog_for(session, team_id=initiative.team_id)
    gate = catalog.next_gate(initiative.stage)
    if gate is None:
        raise Conflict(f"{initiative.key} is in {catalog.stage(initiative.stage).name}, the last stage.")
    tracked_items.require_none_blocking(session, initiative=initiative, catalog=catalog)
    owners = owners_of(session, initiative_id=initiative.id)
    roles = gate.roles_for(initiative.risk_tier)
    missing = [role for role in roles if role not in owners]
    if missing:
        example = " ".join(f"{role}=@someone" for role in missing)
        raise InvalidInput(f"{initiative.key} needs a {', '.join(missing)} owner before this review: "
                           f"`/initiative owners {initiative.key} {example}`.")
    now = now or utcnow()
    review = GateReview(team_id=initiative.team_id, initiative_id=initiative.id, gate_slug=gate.id,
                        from_stage=gate.from_stage, to_stage=gate.to_stage, definition_version=catalog.version,
                        sla_business_days=gate.sla_business_days, opened_by=actor.user_id, opened_at=now)
    try:
        with session.begin_nested():
            session.add(review)
            session.flush()
    except IntegrityError:
        # Another request opened a review between our check and our insert.
        raise Conflict(f"{initiative.key} already has an open review; it must be decided first.") from None
    for role in roles:
        session.add(SignOff(team_id=initiative.team_id, review_id=review.id, role=role, assignee=owners[role],
                            requested_at=now))
    session.flush()
    record_audit(session, team_id=initiative.team_id, actor=actor.user_id, action="review.opened",
                 subject_type="review", subject_key=f"{initiative.key}/{gate.id}", initiative_id=initiative.id,
                 after={"gate": gate.id, "roles": list(roles), "assignees": {r: owners[r] for r in roles}},
                 definition_version=catalog.version, at=now)
    emit(session, ReviewOpened(team_id=initiative.team_id, actor=actor.user_id, initiative_id=initiative.id,
                               review_id=review.id))
    return review


def approve(
    session: Session,
    *,
    actor: Actor,
    sign_off_id: int,
    ticked: Iterable[str] = (),
    waivers: Mapping[str, str] | None = None,
    comment: str = "",
    evidence_links: Iterable[str] | VettedLinks = (),
    conditions: Iterable[DraftCondition] = (),
    waivers_expire_on: date | None = None,
    target_on: date | None = None,
    now: datetime | None = None,
) -> Decision:
    """Approve with the checklist: every item ticked, or waived with a reason until `waivers_expire_on` (default:
    the gate's `waiver_days` business days from today). `target_on`: the approver's target date for passing the
    next gate (default: from the stage's `target_days`; ignored when the review leads into the last stage). Plain
    evidence links meet the rules that need no network; surfaces pass `VettedLinks`, whose hosts were resolved and
    vetted before the transaction (`vet_evidence_links` with the evidence policy). With `conditions` (parsed by
    `tracked_items.conditions.parse_conditions`) it approves with conditions: a condition with no person falls to
    the signer, and once every role has approved they become tracked items (a Conditional Go)."""
    now = now or utcnow()
    sign_off, review, initiative = _lock_for_decision(session, sign_off_id=sign_off_id)
    behalf = _require_decider(session, actor, sign_off, initiative, now=now)
    if sign_off.state != "pending":
        return Decision(sign_off, review, initiative, recorded=False)
    items = checklist_of(session, sign_off, review)
    ticked_ids, waiver_reasons = _check_checklist(items, set(ticked), dict(waivers or {}))
    offered = decision_dates(session, review, today=decider_today(session, actor=actor, now=now))
    expires_on = check_waiver_expiry(waivers_expire_on or offered.waivers_expire_on, offered.today) if waiver_reasons \
        else None
    target = _checked_target(target_on or offered.target_on, offered.today) if offered.next_gate_name else None
    values = {
        "state": "approved",
        "ticked": sorted(ticked_ids),
        "waivers": waiver_reasons,
        "comment": clean_text(comment, COMMENT) or None,
        "evidence_links": _stored_links(evidence_links),
        "target_on": target,
        "conditions": [DraftCondition(c.text, c.owner or actor.user_id, c.due_on).as_json() for c in conditions],
    }
    decision = _decide(session, actor=actor, sign_off=sign_off, review=review, initiative=initiative,
                       values=values, now=now,
                       audited={**behalf, **({"waivers_expire_on": expires_on.isoformat()} if expires_on else {})})
    if decision.recorded and expires_on:
        for item_id, reason in waiver_reasons.items():
            session.add(ChecklistWaiver(team_id=sign_off.team_id, initiative_id=initiative.id, sign_off_id=sign_off.id,
                                        gate_slug=review.gate_slug, role=sign_off.role, item_id=item_id,
                                        reason=reason, waived_by=actor.user_id, waived_at=now, expires_on=expires_on))
        session.flush()
    return decision


def check_waiver_expiry(expires_on: date, today: date) -> date:
    """A waiver's expiry date: after `today` (the decider's), within a year."""
    if expires_on <= today:
        raise InvalidInput(f"A waiver must last beyond today; pick an expiry date after {today.isoformat()}.",
                           field=WAIVERS_EXPIRE_ON)
    if expires_on > today + timedelta(days=MAX_WAIVER_DAYS):
        raise InvalidInput("Waive for at most a year: pick an earlier expiry date, and waive again then if still "
                           "needed.", field=WAIVERS_EXPIRE_ON)
    return expires_on


def _checked_target(target_on: date | None, today: date) -> date | None:
    if target_on is None:
        return None
    if target_on <= today:
        raise InvalidInput(f"The next gate's target date must be after today ({today.isoformat()}).",
                           field=TARGET_ON)
    if target_on > today + timedelta(days=MAX_TARGET_DAYS):
        raise InvalidInput("Set the next gate's target within three years.", field=TARGET_ON)
    return target_on


def request_changes(session: Session, *, actor: Actor, sign_off_id: int, reason: str,
                    now: datetime | None = None) -> Decision:
    """Send the initiative back for changes: the review closes at once and other sign-offs are cancelled."""
    sign_off, review, initiative = _lock_for_decision(session, sign_off_id=sign_off_id)
    behalf = _require_decider(session, actor, sign_off, initiative, now=now or utcnow())
    if sign_off.state != "pending":
        return Decision(sign_off, review, initiative, recorded=False)
    values = {"state": "changes_requested", "comment": clean_reason(reason)}
    return _decide(session, actor=actor, sign_off=sign_off, review=review, initiative=initiative,
                   values=values, now=now or utcnow(), audited=behalf)


def waive(session: Session, *, actor: Actor, sign_off_id: int, reason: str,
          now: datetime | None = None) -> Decision:
    """Admin override: waive a whole sign-off. It then counts as approved."""
    require_admin(actor, doing="waive a sign-off")
    sign_off, review, initiative = _lock_for_decision(session, sign_off_id=sign_off_id)
    if sign_off.state != "pending":
        return Decision(sign_off, review, initiative, recorded=False)
    values = {"state": "waived", "comment": clean_reason(reason, what="reason for the waiver")}
    return _decide(session, actor=actor, sign_off=sign_off, review=review, initiative=initiative,
                   values=values, now=now or utcnow())


def cancel_open_review(session: Session, *, actor: Actor, initiative: Initiative, reason: str) -> GateReview | None:
    """Close an open review without a verdict (retired, moved by an admin, ...)."""
    review = open_review_of(session, initiative_id=initiative.id)
    if review is None:
        return None
    now = utcnow()
    _close_review(session, review=review, state="cancelled", reason=reason, now=now)
    record_audit(session, team_id=initiative.team_id, actor=actor.user_id, action="review.cancelled",
                 subject_type="review", subject_key=f"{initiative.key}/{review.gate_slug}",
                 initiative_id=initiative.id, after={"reason": reason},
                 definition_version=review.definition_version, at=now)
    emit(session, ReviewClosed(team_id=initiative.team_id, actor=actor.user_id, initiative_id=initiative.id,
                               review_id=review.id, state="cancelled"))
    return review


def sign_off_to_decide(session: Session, *, actor: Actor, sign_off_id: int,
                       now: datetime | None = None) -> PendingSignOff:
    """A sign-off someone is about to decide (to show its checklist), refused as the decision itself would be.
    Read only; the caller checks `sign_off.state` to tell an outdated request from a pending one."""
    sign_off = session.get(SignOff, sign_off_id)
    if sign_off is None or sign_off.team_id != actor.team_id:
        raise NotFound("That sign-off no longer exists.")
    review = session.get(GateReview, sign_off.review_id)
    initiative = session.get(Initiative, review.initiative_id) if review else None
    assert review is not None and initiative is not None
    _require_decider(session, actor, sign_off, initiative, now=now or utcnow())
    return PendingSignOff(sign_off, review, initiative)


def pending_sign_offs_for(session: Session, *, team_id: str, user_id: str) -> list[PendingSignOff]:
    """A person's pending sign-offs, oldest first, of the initiatives they may see."""
    reader = Audience.person(team_id=team_id, user_id=user_id)
    rows = session.exec(
        select(SignOff, GateReview, Initiative)
        .join(GateReview, col(GateReview.id) == SignOff.review_id)
        .join(Initiative, col(Initiative.id) == GateReview.initiative_id)
        .where(SignOff.team_id == team_id, SignOff.assignee == user_id, SignOff.state == "pending",
               visible_to(reader))
        .order_by(col(SignOff.requested_at), col(SignOff.id))
    )
    return [PendingSignOff(*row) for row in rows]


def next_pending_on_review(session: Session, *, review_id: int, user_id: str) -> SignOff | None:
    """The person's oldest pending sign-off on one review: the second checklist of someone holding two roles.
    One indexed lookup, where `pending_sign_offs_for` reads all the person's pending sign-offs across the
    portfolio (a quarter of a checklist submission's time, in bench/bench_decisions.py's profile)."""
    return session.exec(
        select(SignOff)
        .where(SignOff.review_id == review_id, SignOff.assignee == user_id, SignOff.state == "pending")
        .order_by(col(SignOff.requested_at), col(SignOff.id))
        .limit(1)
    ).first()


def _lock_for_decision(session: Session, *, sign_off_id: int) -> tuple[SignOff, GateReview, Initiative]:
    found = session.get(SignOff, sign_off_id)
    if found is None:
        raise NotFound("That sign-off no longer exists.")
    # Lock the review: decisions on one review happen one after another (a no-op on SQLite, where
    # BEGIN IMMEDIATE already serialises writers).
    review = session.exec(
        select(GateReview).where(GateReview.id == found.review_id).with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    sign_off = session.get(SignOff, sign_off_id, populate_existing=True)
    # Lock the initiative too, before anything is audited: the audit chain's lock is taken at the first audited
    # change, so every path must take its row locks first (pause does the same) or two requests can deadlock.
    initiative = session.exec(
        select(Initiative).where(Initiative.id == review.initiative_id).with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    assert sign_off is not None and initiative is not None
    return sign_off, review, initiative


def _require_decider(session: Session, actor: Actor, sign_off: SignOff, initiative: Initiative, *,
                     now: datetime) -> dict[str, str]:
    """The assignee decides, or whoever they delegated to while the delegation lasts; what the decision's audit
    entry adds for a delegate (`on_behalf_of`)."""
    acting_as = acting_for(session, actor=actor, people=[sign_off.assignee], now=now) \
        if actor.team_id == sign_off.team_id else None
    if acting_as is None:
        raise PermissionDenied(f"Only the {sign_off.role} owner of {initiative.key} can decide this sign-off.")
    if initiative.status == "paused" and sign_off.state == "pending":
        raise Conflict(f"{initiative.key} is paused; resume it before deciding.")
    return on_behalf(actor, acting_as)


def _check_checklist(items: tuple[ChecklistItem, ...], ticked: set[str],
                     waivers: dict[str, str]) -> tuple[set[str], dict[str, str]]:
    known = {item.id for item in items}
    unknown = (ticked | set(waivers)) - known
    if unknown:
        shown = ", ".join(sorted(unknown)[:5]) + (" and more" if len(unknown) > 5 else "")
        raise InvalidInput(f"Unknown checklist item(s): {shown[:200]}.", field="ticked")
    problems: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for item in items:
        reason = clean_characters(waivers.get(item.id) or "").strip()
        if item.id in ticked:
            continue
        if item.id in waivers and not reason:
            problems[item.id] = "Give a reason for waiving this item."
        elif len(reason) > REASON.limit:
            problems[item.id] = f"Keep the waiver reason within {REASON.limit} characters."
        elif reason:
            reasons[item.id] = reason
        else:
            problems[item.id] = "Tick this item, or waive it with a reason."
    if problems:
        raise ChecklistIncomplete(problems)
    return ticked, reasons


def vet_evidence_links(links: Iterable[str], *, policy: OutboundPolicy) -> VettedLinks:
    """Resolve and vet the links' hosts (up to 2 s), before the decision's transaction, never under its locks."""
    try:
        return VettedLinks(tuple(check_evidence_links(links, policy=policy)))
    except InvalidInput as problem:
        return VettedLinks(problem=problem)


def _stored_links(links: Iterable[str] | VettedLinks) -> list[str]:
    if not isinstance(links, VettedLinks):
        return check_evidence_links(links)
    if links.problem is not None:
        raise links.problem
    return list(links.links)


def check_evidence_links(links: Iterable[str], *, policy: OutboundPolicy | None = None) -> list[str]:
    """The evidence links as they are stored, or InvalidInput under the evidence field. Without a `policy`, only
    the rules that hold whatever the settings are; with one, each host is also resolved and vetted, which may take
    up to 2 s: do that before the decision's transaction (the listener does), never while it holds its locks."""
    cleaned = [link for link in (clean_characters(link or "").strip() for link in links) if link]
    if len(cleaned) > MAX_EVIDENCE_LINKS:
        raise InvalidInput(f"Attach at most {MAX_EVIDENCE_LINKS} evidence links.", field=EVIDENCE_LINKS.name)
    length = len("\n".join(cleaned))
    if length > EVIDENCE_LINKS.limit:
        raise InvalidInput(f"The {EVIDENCE_LINKS.label} are {length} characters long together; keep them within "
                           f"{EVIDENCE_LINKS.limit}.", field=EVIDENCE_LINKS.name)
    for link in cleaned:
        if len(link) > MAX_EVIDENCE_LINK_LENGTH:
            raise InvalidInput(f"'{link[:60]}…' is longer than {MAX_EVIDENCE_LINK_LENGTH} characters; link to the "
                               f"page by a shorter URL.", field=EVIDENCE_LINKS.name)
    for link, problem in zip(cleaned, vet_each(cleaned, policy), strict=True):
        if problem is not None:
            raise InvalidInput(f"'{link[:60]}' cannot be an evidence link: {problem}. Evidence links are web pages "
                               f"such as https://wiki.example.com/model-card, one per line.", field=EVIDENCE_LINKS.name)
    return cleaned



def _decide(session: Session, *, actor: Actor, sign_off: SignOff, review: GateReview, initiative: Initiative,
            values: dict[str, object], now: datetime, audited: dict[str, object] | None = None) -> Decision:
    result = session.execute(
        update(SignOff)
        .where(col(SignOff.id) == sign_off.id, col(SignOff.state) == "pending")
        .values(decided_by=actor.user_id, decided_at=now, **values)
    )
    session.refresh(sign_off)
    if result.rowcount != 1:
        return Decision(sign_off, review, initiative, recorded=False)
    decision = str(values["state"])
    record_audit(session, team_id=initiative.team_id, actor=actor.user_id, action=f"signoff.{decision}",
                 subject_type="sign_off", subject_key=f"{initiative.key}/{review.gate_slug}/{sign_off.role}",
                 initiative_id=initiative.id, before={"state": "pending"},
                 after={**{k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()
                           if v not in (None, [], {})}, **(audited or {})},
                 definition_version=review.definition_version, at=now)
    emit(session, SignOffDecided(team_id=initiative.team_id, actor=actor.user_id, initiative_id=initiative.id,
                                 review_id=review.id, sign_off_id=sign_off.id, decision=decision))
    if decision == "changes_requested":
        _close_review(session, review=review, state="changes_requested", reason=str(values["comment"]), now=now)
        emit(session, ReviewClosed(team_id=initiative.team_id, actor=actor.user_id, initiative_id=initiative.id,
                                   review_id=review.id, state="changes_requested"))
        return Decision(sign_off, review, initiative, recorded=True)
    all_settled = all(s.state in SETTLED for s in sign_offs_of(session, review_id=review.id))
    if all_settled and review.kind == REATTESTATION:
        _complete_reattestation(session, actor=actor, review=review, initiative=initiative, now=now)
        return Decision(sign_off, review, initiative, recorded=True)
    if all_settled:
        _pass_gate(session, actor=actor, review=review, initiative=initiative, now=now)
    return Decision(sign_off, review, initiative, recorded=True, gate_passed=all_settled)


def _complete_reattestation(session: Session, *, actor: Actor, review: GateReview, initiative: Initiative,
                            now: datetime) -> None:
    """Every owner answered: the re-attestation closes where it is (the stage does not change). Items an owner
    could not confirm are their waivers; the attestation domain flags the initiative At risk for them."""
    answered_no = {s.role: sorted(s.waivers) for s in sign_offs_of(session, review_id=review.id) if s.waivers}
    _close_review(session, review=review, state="passed", reason="every owner answered", now=now)
    record_audit(session, team_id=initiative.team_id, actor=actor.user_id, action="reattestation.completed",
                 subject_type="review", subject_key=f"{initiative.key}/{review.gate_slug}",
                 initiative_id=initiative.id, after={"stage": review.to_stage, "answered_no": answered_no},
                 definition_version=review.definition_version, at=now)
    emit(session, ReviewClosed(team_id=initiative.team_id, actor=actor.user_id, initiative_id=initiative.id,
                               review_id=review.id, state="passed"))


def _pass_gate(session: Session, *, actor: Actor, review: GateReview, initiative: Initiative,
               now: datetime) -> None:
    """Go, or Conditional Go when any approval set conditions: each becomes a tracked item of the gate."""
    sign_offs = sign_offs_of(session, review_id=review.id)
    conditions = [(sign_off, DraftCondition.from_json(value))
                  for sign_off in sign_offs for value in sign_off.conditions]
    outcome = "conditional_go" if conditions else "go"
    _close_review(session, review=review, state="passed", reason="every required role approved"
                  + (f", with {len(conditions)} condition(s)" if conditions else ""), now=now)
    # The earliest target an approver set: the deciders agreed on nothing later.
    review.next_target_on = min((s.target_on for s in sign_offs if s.target_on is not None), default=None)
    session.add(review)
    record_audit(session, team_id=initiative.team_id, actor=actor.user_id, action="gate.passed",
                 subject_type="review", subject_key=f"{initiative.key}/{review.gate_slug}",
                 initiative_id=initiative.id, before={"stage": review.from_stage},
                 after={"stage": review.to_stage, "outcome": outcome}, definition_version=review.definition_version,
                 at=now)
    target = review.next_target_on.isoformat() if review.next_target_on else None
    record_audit(session, team_id=initiative.team_id, actor=actor.user_id, action="gate.decided",
                 subject_type="review", subject_key=f"{initiative.key}/{review.gate_slug}",
                 initiative_id=initiative.id, after={"outcome": outcome, "target_on": target},
                 definition_version=review.definition_version, at=now)
    change_stage(session, initiative=initiative, to_stage=review.to_stage, actor=actor.user_id,
                 reason=f"passed gate {review.gate_slug}" + (" with conditions" if conditions else ""),
                 review_id=review.id, at=now)
    if conditions:
        gate = gate_of(session, review)
        holidays = catalog_for(session, team_id=initiative.team_id).holidays
        for sign_off, draft in conditions:
            owner = draft.owner or sign_off.assignee
            # Counted from the day the gate passes on the owner's calendar: it is their date, due at 17:00 there.
            owner_today = local_date(now, zone_for(session, team_id=initiative.team_id, user_id=owner,
                                                   default=UTC_ZONE))
            tracked_items.create_item(
                session, actor=sign_off.decided_by or actor.user_id, initiative=initiative,
                kind=tracked_items.CONDITION, text=draft.text, owner=owner,
                due_on=draft.due_on or tracked_items.default_due_on(
                    today=owner_today, business_days=gate.condition_days, holidays=holidays),
                gate_slug=review.gate_slug, stage=review.to_stage,
                review_id=review.id, sign_off_id=sign_off.id, details={"role": sign_off.role})
    emit(session, GateDecided(team_id=initiative.team_id, actor=actor.user_id, initiative_id=initiative.id,
                              gate_id=review.gate_slug, outcome=outcome, review_id=review.id,
                              target_on=review.next_target_on))
    emit(session, ReviewClosed(team_id=initiative.team_id, actor=actor.user_id, initiative_id=initiative.id,
                               review_id=review.id, state="passed"))


def _close_review(session: Session, *, review: GateReview, state: str, reason: str, now: datetime) -> None:
    review.state, review.closed_at, review.close_reason = state, now, reason[:500]
    session.add(review)
    session.execute(
        update(SignOff)
        .where(col(SignOff.review_id) == review.id, col(SignOff.state) == "pending")
        .values(state="cancelled", decided_at=now)
    )
    session.flush()


def pause(session: Session, *, actor: Actor, initiative: Initiative, reason: str = "") -> Initiative:
    require_manager(session, actor=actor, initiative=initiative, doing="pause it")
    if initiative.status != "active":
        raise Conflict(f"{initiative.key} is {initiative.status}, not active.")
    return set_status(session, actor=actor, initiative=initiative, status="paused",
                       reason=clean_text(reason, REASON))


def resume(session: Session, *, actor: Actor, initiative: Initiative, reason: str = "") -> Initiative:
    require_manager(session, actor=actor, initiative=initiative, doing="resume it")
    if initiative.status != "paused":
        raise Conflict(f"{initiative.key} is {initiative.status}, not paused.")
    return set_status(session, actor=actor, initiative=initiative, status="active", reason=clean_text(reason, REASON))


def retire(session: Session, *, actor: Actor, initiative: Initiative, reason: str) -> Initiative:
    """Retire for good, for merges and duplicates (a sponsor kills one with `outcomes.kill`). Admins only; any open
    review is cancelled."""
    require_admin(actor, doing="retire an initiative, which is for merges and duplicates; to stop one, its sponsor "
                  f"or an admin kills it: `/initiative kill {initiative.key}`")
    reason = clean_reason(reason, what="reason for retiring it (merged into AI-7, a duplicate of AI-3, ...)")
    if initiative.status in ("retired", "killed"):
        raise Conflict(f"{initiative.key} is already {initiative.status}.")
    cancel_open_review(session, actor=actor, initiative=initiative, reason=f"retired: {reason}")
    initiative.retired_reason = reason
    return set_status(session, actor=actor, initiative=initiative, status="retired", reason=reason)


def set_status(session: Session, *, actor: Actor, initiative: Initiative, status: str, reason: str,
               details: dict[str, str] | None = None) -> Initiative:
    """The one way a status changes: audited as `initiative.<status>` (with `details` beside the reason), and
    announced as `StatusChanged`."""
    before = initiative.status
    initiative.status = status
    if status != "retired":
        initiative.retired_reason = None
    initiative.updated_at = utcnow()
    session.add(initiative)
    record_audit(session, team_id=initiative.team_id, actor=actor.user_id, action=f"initiative.{status}",
                 subject_type="initiative", subject_key=initiative.key, initiative_id=initiative.id,
                 before={"status": before}, after={"status": status, "reason": reason, **(details or {})})
    emit(session, StatusChanged(team_id=initiative.team_id, actor=actor.user_id, initiative_id=initiative.id,
                                status=status, reason=reason))
    return initiative


def move_stage(
    session: Session, *, actor: Actor, initiative: Initiative, to_stage: str, reason: str
) -> StageTransition:
    """Admin override: put an initiative in any stage, forward or back. Cancels an open review; audited."""
    require_admin(actor, doing="move an initiative between stages")
    reason = clean_reason(reason)
    catalog = catalog_for(session, team_id=initiative.team_id)
    catalog.stage(to_stage)
    if to_stage == initiative.stage:
        raise Conflict(f"{initiative.key} is already in {to_stage}.")
    cancel_open_review(session, actor=actor, initiative=initiative, reason=f"moved by an admin: {reason}")
    audit = record_audit_at_once(session, team_id=initiative.team_id, actor=actor.user_id,
                                 action="stage.moved_by_admin", subject_type="initiative",
                                 subject_key=initiative.key, initiative_id=initiative.id,
                                 before={"stage": initiative.stage}, after={"stage": to_stage, "reason": reason},
                                 definition_version=catalog.version)
    return change_stage(session, initiative=initiative, to_stage=to_stage, actor=actor.user_id, reason=reason,
                        audit_event_id=audit.id)
