"""Periodic re-attestation and the flags it raises.

- A stage with `reattest_every_days` and a `reattest_checklist` asks the owners of the checklist's roles, every so
  many days, to confirm its items again. A re-attestation is a review of kind `reattestation`, reviewed like a gate
  from the stage to itself (`GateCatalog.gate("reattest:<stage>")`): the same sign-off DM, Approve modal, nudges,
  escalation and audit as a gate review. The next one falls due `reattest_every_days` after the last one opened in
  the stage (or after the initiative entered it); one never opens while another review is open.
- An item an owner cannot confirm (waived in the Approve modal) or a sign-off sent back ("Cannot confirm") flags
  the initiative **At risk**: audited, told to the sponsor and the admins, listed in the digest and `show`. A
  re-attestation every owner confirms clears the flag.
- With `reattest_hold_after_days`, a re-attestation still unanswered that many days after it opened puts the
  initiative on hold (the outcomes domain's hold), to be revisited in 30 days.
- Flags are rows of `initiative_flag`: raised once (a partial unique index), cleared once, never deleted.

- Models go stale: the age of each initiative's MLflow model against its stage's `max_model_age_days`.

The version that counts is the one behind the stage's `model_alias` (default `champion`), or the newest when the
model has no such alias. Older than the limit: **Stale model** (a flag, audited and announced); within it: fresh,
and a Stale model flag clears. When MLflow cannot be asked, or has no such model, the answer is "unknown", never
"fresh": the flag stays as it was, and `show` and the re-attestation say that the age is unknown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.integrations.mlflow import ModelVersion
from bot.services.access.service import Actor
from bot.services.audit.service import record_audit
from bot.services.events import DomainEvent, InitiativeFlagged, ReviewClosed, ReviewOpened, SignOffDecided, emit
from bot.services.gates.service import SYSTEM_ACTOR, GateCatalog, Stage, catalog_for
from bot.services.initiatives.service import owners_of
from bot.services.outcomes.service import hold
from bot.services.reviews.service import REATTESTATION, PendingSignOff, pending_sign_offs_for, sign_offs_of
from storage.models import GateReview, Initiative, InitiativeFlag, ModelCheck, SignOff

AT_RISK, STALE_MODEL = "at_risk", "stale_model"
FLAG_NAMES = {AT_RISK: "At risk", STALE_MODEL: "Stale model"}
HOLD_REVISIT_DAYS = 30  # issue 11's hold: revisited in 30 days

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    """An initiative whose stage's re-attestation has fallen due."""

    initiative: Initiative
    stage: Stage
    due_at: datetime


# ---- falling due -------------------------------------------------------------------------------------------------


def due_reattestations(session: Session, *, team_id: str, catalog: GateCatalog, now: datetime) -> list[Due]:
    """Active initiatives in a stage with a re-attestation, none open, whose next one is due by `now`."""
    stages = {stage.id: stage for stage in catalog.stages if stage.reattestation() is not None}
    if not stages:
        return []
    open_reviews = select(GateReview.initiative_id).where(GateReview.team_id == team_id, GateReview.state == "open")
    candidates = list(session.exec(
        select(Initiative).where(Initiative.team_id == team_id, Initiative.status == "active",
                                 col(Initiative.stage).in_(list(stages)), col(Initiative.id).not_in(open_reviews))
        .order_by(col(Initiative.id))))
    last_opened = _last_reattestations(session, team_id=team_id)
    found = []
    for initiative in candidates:
        stage = stages[initiative.stage]
        due_at = next_due_at(initiative, stage, last_opened.get((initiative.id, initiative.stage)))
        if due_at is not None and due_at <= now:
            found.append(Due(initiative, stage, due_at))
    return found


def next_due_at(initiative: Initiative, stage: Stage, last_opened: datetime | None) -> datetime | None:
    """When the next re-attestation falls due: `reattest_every_days` after the last one opened in this stay in the
    stage, or after the initiative entered it."""
    if not stage.reattest_every_days:
        return None
    since = initiative.stage_entered_at
    if last_opened is not None and last_opened >= since:
        since = last_opened
    return since + timedelta(days=stage.reattest_every_days)


def next_reattestation_of(session: Session, *, initiative: Initiative) -> datetime | None:
    """When `initiative`'s next re-attestation falls due (for `show`), or None when its stage has none."""
    stage = catalog_for(session, team_id=initiative.team_id).stage(initiative.stage)
    last = session.exec(select(func.max(GateReview.opened_at)).where(
        GateReview.initiative_id == initiative.id, GateReview.kind == REATTESTATION,
        GateReview.from_stage == initiative.stage)).one()
    return next_due_at(initiative, stage, last)


def _last_reattestations(session: Session, *, team_id: str) -> dict[tuple[int, str], datetime]:
    rows = session.exec(
        select(GateReview.initiative_id, GateReview.from_stage, func.max(GateReview.opened_at))
        .where(GateReview.team_id == team_id, GateReview.kind == REATTESTATION)
        .group_by(col(GateReview.initiative_id), col(GateReview.from_stage)))
    return {(initiative_id, stage): at for initiative_id, stage, at in rows}


def open_reattestation(session: Session, *, due: Due, catalog: GateCatalog, now: datetime) -> GateReview | None:
    """Open the re-attestation, one pending sign-off per role asked that has an owner. None when no such role has
    an owner, or when another review opened first (here or on another replica: the one-open-review index)."""
    initiative, gate = due.initiative, due.stage.reattestation()
    assert gate is not None
    owners = owners_of(session, initiative_id=initiative.id)
    roles = [role for role in gate.roles_for(initiative.risk_tier) if role in owners]
    if not roles:
        log.info("%s: re-attestation due, but none of its roles has an owner", initiative.key)
        return None
    review = GateReview(team_id=initiative.team_id, initiative_id=initiative.id, gate_slug=gate.id,
                        kind=REATTESTATION, from_stage=due.stage.id, to_stage=due.stage.id,
                        definition_version=catalog.version, sla_business_days=gate.sla_business_days,
                        opened_by=SYSTEM_ACTOR, opened_at=now)
    try:
        with session.begin_nested():
            session.add(review)
            session.flush()
    except IntegrityError:
        return None
    for role in roles:
        session.add(SignOff(team_id=initiative.team_id, review_id=review.id, role=role, assignee=owners[role],
                            requested_at=now))
    session.flush()
    record_audit(session, team_id=initiative.team_id, actor=SYSTEM_ACTOR, action="reattestation.opened",
                 subject_type="review", subject_key=f"{initiative.key}/{gate.id}", initiative_id=initiative.id,
                 after={"stage": due.stage.id, "roles": roles, "assignees": {r: owners[r] for r in roles},
                        "due_at": due.due_at.isoformat()},
                 definition_version=catalog.version, at=now)
    emit(session, ReviewOpened(team_id=initiative.team_id, actor=SYSTEM_ACTOR, initiative_id=initiative.id,
                               review_id=review.id))
    return review


def hold_unanswered(session: Session, *, team_id: str, catalog: GateCatalog, now: datetime) -> list[Initiative]:
    """Put on hold each active initiative whose open re-attestation is older than its stage's
    `reattest_hold_after_days`; the hold cancels the re-attestation."""
    limits = {stage.id: stage.reattest_hold_after_days for stage in catalog.stages if stage.reattest_hold_after_days}
    if not limits:
        return []
    rows = session.exec(
        select(GateReview, Initiative).join(Initiative, col(Initiative.id) == GateReview.initiative_id)
        .where(GateReview.team_id == team_id, GateReview.state == "open", GateReview.kind == REATTESTATION,
               Initiative.status == "active", col(GateReview.from_stage).in_(list(limits)))
        .order_by(col(GateReview.id))).all()
    held = []
    system = Actor(team_id=team_id, user_id=SYSTEM_ACTOR, is_admin=True)
    for review, initiative in rows:
        days = limits[review.from_stage]
        if review.opened_at + timedelta(days=days) > now:
            continue
        hold(session, actor=system, initiative=initiative, until=now.date() + timedelta(days=HOLD_REVISIT_DAYS),
             reason=f"re-attestation unanswered for {days} days", today=now.date())
        held.append(initiative)
    return held


def reattestations_waiting_for(session: Session, *, team_id: str, user_id: str) -> list[PendingSignOff]:
    """A person's pending re-attestation sign-offs, oldest first (for "what waits on a person")."""
    return [pending for pending in pending_sign_offs_for(session, team_id=team_id, user_id=user_id)
            if pending.review.kind == REATTESTATION]


# ---- flags ---------------------------------------------------------------------------------------------------------


def raise_flag(session: Session, *, initiative: Initiative, kind: str, detail: str, actor: str,
               now: datetime) -> InitiativeFlag | None:
    """Flag the initiative, audited and announced; None when it already carries that flag."""
    if open_flag(session, initiative_id=initiative.id, kind=kind) is not None:
        return None
    flag = InitiativeFlag(team_id=initiative.team_id, initiative_id=initiative.id, kind=kind, detail=detail[:2000],
                          raised_by=actor, raised_at=now)
    try:
        with session.begin_nested():
            session.add(flag)
            session.flush()
    except IntegrityError:
        return None  # raised meanwhile by another transaction
    assert flag.id is not None
    record_audit(session, team_id=initiative.team_id, actor=actor, action=f"initiative.{kind}",
                 subject_type="initiative", subject_key=initiative.key, initiative_id=initiative.id,
                 after={"flag": kind, "detail": flag.detail}, at=now)
    emit(session, InitiativeFlagged(team_id=initiative.team_id, actor=actor, initiative_id=initiative.id,
                                    flag_id=flag.id, kind=kind, raised=True))
    return flag


def clear_flag(session: Session, *, initiative: Initiative, kind: str, why: str, actor: str,
               now: datetime) -> InitiativeFlag | None:
    """Clear the flag, audited and announced; None when the initiative does not carry it."""
    flag = open_flag(session, initiative_id=initiative.id, kind=kind)
    if flag is None:
        return None
    flag.cleared_at, flag.cleared_by = now, actor
    session.add(flag)
    session.flush()
    assert flag.id is not None
    record_audit(session, team_id=initiative.team_id, actor=actor, action=f"initiative.{kind}_cleared",
                 subject_type="initiative", subject_key=initiative.key, initiative_id=initiative.id,
                 before={"flag": kind, "detail": flag.detail}, after={"why": why}, at=now)
    emit(session, InitiativeFlagged(team_id=initiative.team_id, actor=actor, initiative_id=initiative.id,
                                    flag_id=flag.id, kind=kind, raised=False))
    return flag


def open_flag(session: Session, *, initiative_id: int | None, kind: str) -> InitiativeFlag | None:
    return session.exec(select(InitiativeFlag).where(InitiativeFlag.initiative_id == initiative_id,
                                                     InitiativeFlag.kind == kind,
                                                     col(InitiativeFlag.cleared_at).is_(None))).first()


def open_flags(session: Session, *, team_id: str, initiative_ids: list[int] | None = None) -> list[InitiativeFlag]:
    """Flags still raised in the workspace (of `initiative_ids`, when given), oldest first."""
    query = select(InitiativeFlag).where(InitiativeFlag.team_id == team_id, col(InitiativeFlag.cleared_at).is_(None))
    if initiative_ids is not None:
        query = query.where(col(InitiativeFlag.initiative_id).in_(initiative_ids))
    return list(session.exec(query.order_by(col(InitiativeFlag.raised_at), col(InitiativeFlag.id))))


class AttestationEvents:
    """Domain-event handler: a re-attestation answered "no" flags its initiative At risk; one every owner
    confirmed clears the flag."""

    def __call__(self, session: Session, event: DomainEvent) -> None:
        if not isinstance(event, SignOffDecided | ReviewClosed):
            return
        review = session.get(GateReview, event.review_id)
        if review is None or review.kind != REATTESTATION:
            return
        initiative = session.get(Initiative, review.initiative_id)
        assert initiative is not None
        catalog = catalog_for(session, team_id=review.team_id, version=review.definition_version)
        if isinstance(event, SignOffDecided):
            sign_off = session.get(SignOff, event.sign_off_id)
            assert sign_off is not None
            detail = answered_no(catalog, review, sign_off)
            if detail:
                raise_flag(session, initiative=initiative, kind=AT_RISK, detail=detail, actor=event.actor,
                           now=sign_off.decided_at or review.opened_at)
        elif event.state == "passed" and not any(s.waivers for s in sign_offs_of(session, review_id=review.id)):
            clear_flag(session, initiative=initiative, kind=AT_RISK, actor=event.actor,
                       why=f"every owner confirmed the re-attestation in {catalog.stage(review.from_stage).name}",
                       now=review.closed_at or review.opened_at)


def answered_no(catalog: GateCatalog, review: GateReview, sign_off: SignOff) -> str:
    """What an owner could not confirm, as people read it ("" when they confirmed everything)."""
    role = catalog.role_name(sign_off.role)
    if sign_off.state == "changes_requested":
        return f"{role} could not confirm the re-attestation: {sign_off.comment or ''}".strip()
    if not sign_off.waivers:
        return ""
    labels = {item.id: item.label for item in catalog.gate(review.gate_slug).checklist_for(sign_off.role)}
    return "; ".join(f"{role} could not confirm “{labels.get(item_id, item_id)}”: {why}"
                     for item_id, why in sorted(sign_off.waivers.items()))


FRESH, STALE, UNKNOWN = "fresh", "stale", "unknown"
# The job runs every minute; a model's age moves slowly, and MLflow is asked about each model at most this often
# (an unknown answer is asked again sooner).
ASK_AGAIN_AFTER = {FRESH: timedelta(hours=1), STALE: timedelta(hours=1), UNKNOWN: timedelta(minutes=15)}


@dataclass(frozen=True)
class ModelToCheck:
    initiative_id: int
    model_name: str
    alias: str
    max_age_days: int


def models_to_check(session: Session, *, team_id: str, catalog: GateCatalog, now: datetime) -> list[ModelToCheck]:
    """Active initiatives that name a model, in a stage with a `max_model_age_days`, not asked about lately."""
    stages = {stage.id: stage for stage in catalog.stages if stage.max_model_age_days}
    if not stages:
        return []
    rows = session.exec(
        select(Initiative.id, Initiative.stage, Initiative.mlflow_model, ModelCheck.model_name, ModelCheck.state,
               ModelCheck.checked_at)
        .outerjoin(ModelCheck, col(ModelCheck.initiative_id) == Initiative.id)
        .where(Initiative.team_id == team_id, Initiative.status == "active", col(Initiative.stage).in_(list(stages)),
               col(Initiative.mlflow_model).is_not(None), Initiative.mlflow_model != "")
        .order_by(col(Initiative.id)))
    result = []
    for initiative_id, stage_id, model, asked_about, state, checked_at in rows:
        if asked_about == model and checked_at + ASK_AGAIN_AFTER[state] > now:
            continue
        stage = stages[stage_id]
        assert initiative_id is not None and model and stage.max_model_age_days
        result.append(ModelToCheck(initiative_id, model, stage.model_alias, stage.max_model_age_days))
    return result


def judge(found: ModelVersion, *, max_age_days: int, now: datetime) -> str:
    if found.created_at is None:
        return UNKNOWN
    return STALE if now - found.created_at > timedelta(days=max_age_days) else FRESH


def record_model_age(session: Session, *, wanted: ModelToCheck, found: ModelVersion, now: datetime) -> ModelCheck:
    """Keep what MLflow said about the initiative's model, and raise or clear its Stale model flag."""
    initiative = session.get(Initiative, wanted.initiative_id)
    assert initiative is not None
    state = judge(found, max_age_days=wanted.max_age_days, now=now)
    check = session.get(ModelCheck, wanted.initiative_id) or ModelCheck(initiative_id=wanted.initiative_id,
                                                                        team_id=initiative.team_id,
                                                                        model_name=wanted.model_name, state=state)
    check.model_name, check.state, check.version = wanted.model_name, state, found.version
    check.version_created_at, check.evidence, check.checked_at = found.created_at, found.evidence[:500], now
    session.add(check)
    session.flush()
    if state == STALE:
        raise_flag(session, initiative=initiative, kind=STALE_MODEL, actor=SYSTEM_ACTOR, now=now,
                   detail=f"{wanted.model_name}: {found.evidence}; the limit is {wanted.max_age_days} days")
    elif state == FRESH:
        clear_flag(session, initiative=initiative, kind=STALE_MODEL, actor=SYSTEM_ACTOR, now=now,
                   why=f"{wanted.model_name}: {found.evidence}")
    return check


def model_check_of(session: Session, *, initiative: Initiative) -> ModelCheck | None:
    """What MLflow last said about the initiative's model (None: not asked yet, or it names another model now)."""
    check = session.get(ModelCheck, initiative.id)
    return check if check is not None and check.model_name == initiative.mlflow_model else None
