"""Hold, Recycle and Kill: the sponsor's (and the reviewers') decisions besides passing a gate.

- Hold: good, but not now. The sponsor or an admin holds an initiative until a revisit date, with a reason; an
  open review is cancelled. `resume` ends the hold (or an owner's pause); on the revisit date the sponsor is
  asked to resume, extend or kill (scheduled.py).
- Recycle: back to an earlier stage, with what must be redone, by the sponsor, an admin, or an owner whose role
  signs the current gate. A stage change like any other (a transition row), whose audit event says it is a
  recycle, so that the digest counts it as one. Open conditions of the gates it goes back over are cancelled.
- Kill: stopped for good, with the rationale and what was learned. Nothing is deleted.

Each decision is one `initiative_outcome` row, audited (`initiative.held`, `initiative.recycled`,
`initiative.killed`) and announced as `OutcomeDecided` (owners' DMs, webhooks).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, col, select

from bot.services.access.service import Actor
from bot.services.audit.service import record_audit, record_audit_at_once
from bot.services.errors import Conflict, InvalidInput, PermissionDenied
from bot.services.events import GateDecided, OutcomeDecided, emit
from bot.services.gates.service import GateCatalog, catalog_for
from bot.services.initiatives.service import SPONSOR, change_stage, owners_of
from bot.services.reviews import service as reviews
from bot.services.reviews.service import cancel_open_review, open_review_of
from bot.services.tracked_items import service as tracked_items
from bot.services.validation import REASON, TextField, clean_reason, clean_text, parse_date
from storage.models import Initiative, InitiativeOutcome
from storage.types import utcnow

RATIONALE = TextField("rationale", "rationale", 3000)
LESSONS = TextField("lessons", "what we learned", 3000)
REVISIT_ON = "revisit_on"  # the field a bad revisit date is shown under
MAX_HOLD_DAYS = 366
ENDED = ("retired", "killed")


def parse_revisit_date(text: str) -> date:
    return parse_date(text, field=REVISIT_ON)


def sponsor_of(session: Session, *, initiative: Initiative) -> str | None:
    return owners_of(session, initiative_id=initiative.id).get(SPONSOR)


def require_sponsor_or_admin(session: Session, *, actor: Actor, initiative: Initiative, doing: str) -> None:
    if actor.is_admin or actor.user_id == sponsor_of(session, initiative=initiative):
        return
    raise PermissionDenied(f"Only {initiative.key}'s sponsor or an admin can {doing}.")


def open_hold_of(session: Session, *, initiative_id: int) -> InitiativeOutcome | None:
    return session.exec(select(InitiativeOutcome).where(
        InitiativeOutcome.initiative_id == initiative_id, InitiativeOutcome.kind == "hold",
        col(InitiativeOutcome.ended_at).is_(None))).first()


def standing_decision(session: Session, *, initiative: Initiative) -> InitiativeOutcome | None:
    """The hold behind a `held` status, or the kill behind `killed`; None for any other status."""
    if initiative.status == "held":
        return open_hold_of(session, initiative_id=initiative.id)
    if initiative.status == "killed":
        return session.exec(select(InitiativeOutcome).where(
            InitiativeOutcome.initiative_id == initiative.id, InitiativeOutcome.kind == "kill")
            .order_by(col(InitiativeOutcome.id).desc())).first()
    return None


def outcomes_of(session: Session, *, initiative_id: int) -> list[InitiativeOutcome]:
    """Every hold, recycle and kill of an initiative, oldest first."""
    return list(session.exec(select(InitiativeOutcome).where(InitiativeOutcome.initiative_id == initiative_id)
                             .order_by(col(InitiativeOutcome.decided_at), col(InitiativeOutcome.id))))


def hold(session: Session, *, actor: Actor, initiative: Initiative, until: date, reason: str,
         today: date) -> InitiativeOutcome:
    """Hold until `until` (after `today`, the actor's date, and within a year); an open review is cancelled."""
    require_sponsor_or_admin(session, actor=actor, initiative=initiative, doing="put it on hold")
    reason = clean_reason(reason, what="reason for the hold (no budget this quarter, waiting for the data, ...)")
    if initiative.status not in ("active", "paused"):
        raise Conflict(_not_open(initiative, "put on hold"))
    _check_revisit(until, today)
    cancel_open_review(session, actor=actor, initiative=initiative, reason=f"on hold until {until}: {reason}")
    outcome = _record(session, actor=actor, initiative=initiative, kind="hold", reason=reason, revisit_on=until)
    reviews.set_status(session, actor=actor, initiative=initiative, status="held", reason=reason,
                       details={"revisit_on": until.isoformat()})
    _announce(session, actor=actor, initiative=initiative, outcome=outcome, what="held")
    return outcome


def extend_hold(session: Session, *, actor: Actor, initiative: Initiative, until: date, reason: str,
                today: date) -> InitiativeOutcome:
    """Move an open hold's revisit date (its sponsor is asked again on the new date)."""
    require_sponsor_or_admin(session, actor=actor, initiative=initiative, doing="extend its hold")
    held = open_hold_of(session, initiative_id=initiative.id)
    if initiative.status != "held" or held is None:
        raise Conflict(f"{initiative.key} is {describe_status(initiative.status)}, not on hold.")
    _check_revisit(until, today)
    reason = clean_text(reason, REASON)
    before = held.revisit_on
    held.revisit_on = until
    session.add(held)
    record_audit(session, team_id=initiative.team_id, actor=actor.user_id, action="initiative.hold_extended",
                 subject_type="initiative", subject_key=initiative.key, initiative_id=initiative.id,
                 before={"revisit_on": before.isoformat() if before else None},
                 after={"revisit_on": until.isoformat(), "reason": reason})
    _announce(session, actor=actor, initiative=initiative, outcome=held, what="hold_extended")
    return held


def resume(session: Session, *, actor: Actor, initiative: Initiative, reason: str = "") -> Initiative:
    """End a hold (the sponsor or an admin: it was their decision) or an owner's pause (as before)."""
    if initiative.status != "held":
        return reviews.resume(session, actor=actor, initiative=initiative, reason=reason)
    require_sponsor_or_admin(session, actor=actor, initiative=initiative, doing="end its hold")
    _end_hold(session, actor=actor, initiative=initiative)
    return reviews.set_status(session, actor=actor, initiative=initiative, status="active",
                              reason=clean_text(reason, REASON) or "hold ended")


def recycle(session: Session, *, actor: Actor, initiative: Initiative, to_stage: str,
            reason: str) -> InitiativeOutcome:
    """Send back to an earlier stage, with what must be redone; an open review is cancelled."""
    catalog = catalog_for(session, team_id=initiative.team_id)
    _require_recycler(session, actor=actor, initiative=initiative, catalog=catalog)
    reason = clean_reason(reason, what="note of what must be redone")
    if initiative.status != "active":
        raise Conflict(f"{initiative.key} is {describe_status(initiative.status)}; only an active initiative can be "
                       "recycled" + (" (resume it first)." if initiative.status in ("paused", "held") else "."))
    target = catalog.stage(to_stage.strip().lower())
    current = catalog.stage_index(initiative.stage)
    if catalog.stage_index(target.id) >= current:
        earlier = ", ".join(stage.id for stage in catalog.stages[:current])
        raise InvalidInput(f"{target.name} is not before {catalog.stages[current].name}; recycle {initiative.key} "
                           "to an earlier stage" + (f" ({earlier})." if earlier else "."), field="to_stage")
    cancel_open_review(session, actor=actor, initiative=initiative, reason=f"recycled to {target.name}: {reason}")
    # The gates it goes back over are those that led into the stages after the target, up to the current one.
    gone_back_over = [stage.id for stage in catalog.stages[catalog.stage_index(target.id) + 1: current + 1]]
    tracked_items.cancel_gone_back_over(session, actor=actor, initiative=initiative, stages=gone_back_over,
                                        reason=f"recycled to {target.name}: {reason}"[: REASON.limit])
    outcome = _record(session, actor=actor, initiative=initiative, kind="recycle", reason=reason,
                      to_stage=target.id)
    # At once: the stage transition records the event that caused it (which the digest reads as a recycle).
    audit = record_audit_at_once(session, team_id=initiative.team_id, actor=actor.user_id,
                                 action="initiative.recycled", subject_type="initiative", subject_key=initiative.key,
                                 initiative_id=initiative.id, before={"stage": initiative.stage},
                                 after={"stage": target.id, "reason": reason}, definition_version=catalog.version)
    change_stage(session, initiative=initiative, to_stage=target.id, actor=actor.user_id,
                 reason=f"recycled: {reason}"[: REASON.limit], audit_event_id=audit.id)
    _announce(session, actor=actor, initiative=initiative, outcome=outcome, what="recycled")
    return outcome


def check_may_kill(session: Session, *, actor: Actor, initiative: Initiative) -> None:
    """Refuse before the kill modal opens what its submission would refuse anyway."""
    require_sponsor_or_admin(session, actor=actor, initiative=initiative, doing="kill it")
    if initiative.status in ENDED:
        raise Conflict(f"{initiative.key} is already {initiative.status}.")


def kill(session: Session, *, actor: Actor, initiative: Initiative, rationale: str,
         lessons: str = "") -> InitiativeOutcome:
    """Stop for good, with the rationale and what was learned; an open review and a hold end. Nothing is deleted."""
    check_may_kill(session, actor=actor, initiative=initiative)
    rationale = clean_text(rationale, RATIONALE)
    if not rationale:
        raise InvalidInput("Say why it is killed: the rationale stays in its decision record.", field=RATIONALE.name)
    lessons = clean_text(lessons, LESSONS)
    cancel_open_review(session, actor=actor, initiative=initiative, reason=f"killed: {rationale}"[: REASON.limit])
    _end_hold(session, actor=actor, initiative=initiative)
    outcome = _record(session, actor=actor, initiative=initiative, kind="kill", reason=rationale, lessons=lessons)
    reviews.set_status(session, actor=actor, initiative=initiative, status="killed", reason=rationale,
                       details={"lessons": lessons})
    _announce(session, actor=actor, initiative=initiative, outcome=outcome, what="killed")
    return outcome


def describe_status(status: str) -> str:
    return {"held": "on hold"}.get(status, status)


def _require_recycler(session: Session, *, actor: Actor, initiative: Initiative, catalog: GateCatalog) -> None:
    """The sponsor, an admin, or an owner whose role signs the current gate (the open review's, else the next)."""
    if actor.is_admin:
        return
    owners = owners_of(session, initiative_id=initiative.id)
    if actor.user_id == owners.get(SPONSOR):
        return
    review = open_review_of(session, initiative_id=initiative.id)
    gate = (catalog_for(session, team_id=initiative.team_id, version=review.definition_version).gate(review.gate_slug)
            if review else catalog.next_gate(initiative.stage))
    signers = gate.roles_for(initiative.risk_tier) if gate else ()
    if any(owners.get(role) == actor.user_id for role in signers):
        return
    raise PermissionDenied(f"Only {initiative.key}'s sponsor, an admin, or an owner who signs its current gate can "
                           "recycle it.")


def _check_revisit(until: date, today: date) -> None:
    if until <= today:
        raise InvalidInput(f"{until.isoformat()} is not in the future; give the date to revisit the hold, after "
                           "today.", field=REVISIT_ON)
    if until > today + timedelta(days=MAX_HOLD_DAYS):
        raise InvalidInput("Hold for at most a year: pick an earlier revisit date, and extend the hold then if "
                           "needed.", field=REVISIT_ON)


def _not_open(initiative: Initiative, doing: str) -> str:
    if initiative.status == "held":
        return f"{initiative.key} is already on hold; `/initiative resume {initiative.key}` ends the hold."
    return f"{initiative.key} is {initiative.status}; it cannot be {doing}."


def _record(session: Session, *, actor: Actor, initiative: Initiative, kind: str, reason: str,
            revisit_on: date | None = None, to_stage: str | None = None, lessons: str = "") -> InitiativeOutcome:
    outcome = InitiativeOutcome(team_id=initiative.team_id, initiative_id=initiative.id, kind=kind,
                                stage=initiative.stage, to_stage=to_stage, reason=reason, lessons=lessons,
                                revisit_on=revisit_on, decided_by=actor.user_id, decided_at=utcnow())
    session.add(outcome)
    session.flush()
    return outcome


def _end_hold(session: Session, *, actor: Actor, initiative: Initiative) -> None:
    held = open_hold_of(session, initiative_id=initiative.id)
    if held is not None:
        held.ended_at, held.ended_by = utcnow(), actor.user_id
        session.add(held)
        session.flush()


def _announce(session: Session, *, actor: Actor, initiative: Initiative, outcome: InitiativeOutcome,
              what: str) -> None:
    assert outcome.id is not None
    emit(session, OutcomeDecided(team_id=initiative.team_id, actor=actor.user_id, initiative_id=initiative.id,
                                 outcome_id=outcome.id, what=what))
    if what in GATE_OUTCOMES:
        # The same decision as the outcome of the gate it was facing: the one after the stage it was in.
        gate = catalog_for(session, team_id=initiative.team_id).next_gate(outcome.stage)
        emit(session, GateDecided(team_id=initiative.team_id, actor=actor.user_id, initiative_id=initiative.id,
                                  gate_id=gate.id if gate else None, outcome=GATE_OUTCOMES[what]))


# A hold, a recycle and a kill are also a gate's outcome (`gate.decided`); a hold's extension is not a new one.
GATE_OUTCOMES = {"held": "hold", "recycled": "recycle", "killed": "kill"}
