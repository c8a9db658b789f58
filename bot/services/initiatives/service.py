"""Initiatives: create, edit, owners, stage changes, lists and history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.services.access.service import Actor, Audience, visible_to
from bot.services.audit.service import record_audit, record_audit_at_once
from bot.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.services.events import InitiativeCreated, OwnersChanged, StageChanged, emit
from bot.services.gates.service import catalog_for, ensure_workspace
from bot.services.initiatives.portfolio import (
    IN_PROGRESS,
    days_in_stage,
    is_stalled,
    portfolio_by_stage,
    stalled_initiatives,
)
from bot.services.initiatives.search import MATCH_END, MATCH_START, Hit, search_initiatives, search_terms
from bot.services.kpis.service import (
    FIRST_KPI_FIELDS,
    clean_first_kpi_texts,
    first_kpi_texts,
    kpis_of,
    set_first_kpi,
)
from bot.services.validation import (
    BUSINESS_UNIT,
    DESCRIPTION,
    INITIATIVE_TEXTS,
    PROBLEM,
    check_channel_id,
    check_risk_tier,
    check_user_id,
    clean_model_name,
    clean_tags,
    clean_text,
    clean_title,
    parse_key,
)
from storage.models import (
    AuditEvent,
    GateReview,
    Initiative,
    OwnerAssignment,
    SignOff,
    StageTransition,
    Workspace,
)
from storage.types import utcnow

# The domain's public face: what the rest of the bot may call (its other modules are internals).
__all__ = [
    "EDITABLE_FIELDS", "MATCH_END", "MATCH_START", "SPONSOR", "Hit", "assign_owners", "change_stage",
    "count_initiatives", "create_initiative", "days_in_stage", "edit_initiative", "get_initiative", "history",
    "is_stalled", "list_initiatives", "may_manage", "owners_of", "portfolio_by_stage", "require_manager",
    "search_initiatives", "search_terms", "set_confidential", "stalled_initiatives"
]

EDITABLE_FIELDS = ("title", "description", "problem", "kpi_name", "kpi_baseline", "kpi_target", "channel_id",
                   "business_unit", "tags", "risk_tier", "mlflow_model")


SPONSOR = "sponsor"  # the role that may hold, kill and hide an initiative (besides admins)

def get_initiative(session: Session, *, audience: Audience, key: str, for_update: bool = False) -> Initiative:
    """Look an initiative up by its key (`AI-12`, any case). One the audience may not see is not there for it."""
    number = parse_key(key)
    query = select(Initiative).where(visible_to(audience), Initiative.number == number)
    if for_update:
        query = query.with_for_update()
    initiative = session.exec(query.execution_options(populate_existing=for_update)).first()
    if initiative is None:
        raise NotFound(f"There is no initiative AI-{number}. `/initiative list` shows them all.")
    return initiative


def owners_of(session: Session, *, initiative_id: int) -> dict[str, str]:
    rows = session.exec(select(OwnerAssignment).where(OwnerAssignment.initiative_id == initiative_id))
    return {row.role: row.user_id for row in rows}


def may_manage(session: Session, *, actor: Actor, initiative: Initiative) -> bool:
    """Owners (any role), the person who recorded it, and admins may manage an initiative."""
    if actor.is_admin or actor.user_id == initiative.created_by:
        return True
    return actor.user_id in owners_of(session, initiative_id=initiative.id).values()


def require_manager(session: Session, *, actor: Actor, initiative: Initiative, doing: str) -> None:
    if not may_manage(session, actor=actor, initiative=initiative):
        raise PermissionDenied(f"Only {initiative.key}'s owners or an admin can {doing}.")


def create_initiative(
    session: Session,
    *,
    actor: Actor,
    title: str,
    description: str = "",
    problem: str = "",
    kpi_name: str = "",
    kpi_baseline: str = "",
    kpi_target: str = "",
    risk_tier: str = "medium",
    owners: Mapping[str, str] | None = None,
    channel_id: str | None = None,
    tags: Sequence[str] = (),
    business_unit: str = "",
    mlflow_model: str = "",
    confidential: bool = False,
    now: datetime | None = None,
) -> Initiative:
    """Record a new initiative in the first stage. Anyone may do this; only its sponsor or an admin may record it
    as confidential."""
    now = now or utcnow()
    ensure_workspace(session, team_id=actor.team_id)
    catalog = catalog_for(session, team_id=actor.team_id)
    owners = _checked_owners(owners or {}, known_roles=catalog.roles.keys())
    if confidential and not (actor.is_admin or owners.get(SPONSOR) == actor.user_id):
        raise PermissionDenied("Only the initiative's sponsor or an admin can make it confidential: add "
                               "sponsor=@you, or ask an admin.")
    fields = {
        "title": clean_title(title),
        "description": clean_text(description, DESCRIPTION),
        "problem": clean_text(problem, PROBLEM),
        "risk_tier": check_risk_tier(risk_tier),
        "business_unit": clean_text(business_unit, BUSINESS_UNIT),
        "tags": clean_tags(tags),
        "channel_id": _checked_channel(channel_id),
        "mlflow_model": clean_model_name(mlflow_model),
        "confidential": confidential,
    }
    kpi_texts = clean_first_kpi_texts({"kpi_name": kpi_name, "kpi_baseline": kpi_baseline, "kpi_target": kpi_target})
    # Atomic, so that two replicas creating at once never hand out the same key.
    number = session.execute(
        update(Workspace)
        .where(col(Workspace.team_id) == actor.team_id)
        .values(next_initiative_number=Workspace.next_initiative_number + 1)
        .returning(Workspace.next_initiative_number)
    ).scalar_one() - 1
    first_stage = catalog.first_stage().id
    initiative = Initiative(
        team_id=actor.team_id,
        number=number,
        stage=first_stage,
        stage_entered_at=now,
        current_transition_id="",
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        **fields,
    )
    session.add(initiative)
    session.flush()
    set_first_kpi(session, team_id=actor.team_id, initiative_id=initiative.id, texts=kpi_texts, now=now)
    audit = record_audit_at_once(
        session,
        team_id=actor.team_id,
        actor=actor.user_id,
        action="initiative.created",
        subject_type="initiative",
        subject_key=initiative.key,
        initiative_id=initiative.id,
        after={**fields, **kpi_texts, "stage": first_stage, "owners": dict(owners)},
        definition_version=catalog.version,
        at=now,
    )
    _record_transition(session, initiative=initiative, from_stage=None, to_stage=first_stage, at=now,
                       actor=actor.user_id, reason="created", audit_event_id=audit.id)
    for role, user_id in owners.items():
        session.add(OwnerAssignment(team_id=actor.team_id, initiative_id=initiative.id, role=role,
                                    user_id=user_id, assigned_by=actor.user_id, assigned_at=now))
    session.flush()
    emit(session, InitiativeCreated(team_id=actor.team_id, actor=actor.user_id, initiative_id=initiative.id))
    return initiative


def set_confidential(session: Session, *, actor: Actor, initiative: Initiative, confidential: bool) -> bool:
    """Make the initiative confidential, or visible to its whole workspace again: its sponsor or an admin, audited.
    Returns whether anything changed."""
    if not (actor.is_admin or owners_of(session, initiative_id=initiative.id).get(SPONSOR) == actor.user_id):  # type: ignore[arg-type]
        raise PermissionDenied(f"Only {initiative.key}'s sponsor or an admin can change who may see it.")
    if initiative.confidential == confidential:
        return False
    initiative.confidential, initiative.updated_at = confidential, utcnow()
    session.add(initiative)
    record_audit(session, team_id=initiative.team_id, actor=actor.user_id, action="initiative.confidentiality_changed",
                 subject_type="initiative", subject_key=initiative.key, initiative_id=initiative.id,
                 before={"confidential": not confidential}, after={"confidential": confidential})
    return True


def edit_initiative(session: Session, *, actor: Actor, initiative: Initiative, **changes: object) -> Initiative:
    """Change descriptive fields. Owners and admins only."""
    require_manager(session, actor=actor, initiative=initiative, doing="edit it")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"Cannot edit {', '.join(sorted(unknown))}.")
    if "risk_tier" in changes and initiative.classified_tier is not None \
            and check_risk_tier(str(changes["risk_tier"])) != initiative.risk_tier:
        raise PermissionDenied(f"{initiative.key}'s risk tier comes from its classification; its compliance owner "
                               f"can override it with a reason: `/initiative classify {initiative.key} override "
                               "<low|medium|high> <reason>`.")
    cleaners = {
        "title": clean_title,
        "risk_tier": check_risk_tier,
        "tags": clean_tags,
        "channel_id": _checked_channel,
        "mlflow_model": clean_model_name,
    }
    kpi_changes = clean_first_kpi_texts(changes)
    kpi_before = first_kpi_texts(next(iter(kpis_of(session, initiative_id=initiative.id)), None))
    before = {name: kpi_before[name] for name, value in kpi_changes.items() if kpi_before[name] != value}
    after = {name: kpi_changes[name] for name in before}
    if after:
        set_first_kpi(session, team_id=initiative.team_id, initiative_id=initiative.id, texts=after)
    for name, value in changes.items():
        if name in FIRST_KPI_FIELDS:
            continue
        cleaned = cleaners.get(name, lambda v, n=name: clean_text(str(v or ""), INITIATIVE_TEXTS[n]))(value)
        if getattr(initiative, name) != cleaned:
            before[name], after[name] = getattr(initiative, name), cleaned
            setattr(initiative, name, cleaned)
    if after:
        initiative.updated_at = utcnow()
        session.add(initiative)
        record_audit(session, team_id=initiative.team_id, actor=actor.user_id, action="initiative.edited",
                     subject_type="initiative", subject_key=initiative.key, initiative_id=initiative.id,
                     before=before, after=after)
    return initiative


def assign_owners(
    session: Session, *, actor: Actor, initiative: Initiative, owners: Mapping[str, str]
) -> OwnersChanged | None:
    """Assign or reassign roles. A pending sign-off of a reassigned role moves to the new owner."""
    require_manager(session, actor=actor, initiative=initiative, doing="change its owners")
    if initiative.status in ("retired", "killed"):
        raise Conflict(f"{initiative.key} is {initiative.status}; its owners can no longer change.")
    catalog = catalog_for(session, team_id=initiative.team_id)
    owners = _checked_owners(owners, known_roles=catalog.roles.keys())
    if not owners:
        raise InvalidInput("Name at least one owner, for example `business=@maria`.")
    current = {row.role: row for row in session.exec(
        select(OwnerAssignment).where(OwnerAssignment.initiative_id == initiative.id))}
    changes: list[tuple[str, str | None, str]] = []
    now = utcnow()
    for role, user_id in owners.items():
        existing = current.get(role)
        if existing and existing.user_id == user_id:
            continue
        changes.append((role, existing.user_id if existing else None, user_id))
        if existing:
            existing.user_id, existing.assigned_by, existing.assigned_at = user_id, actor.user_id, now
            session.add(existing)
        else:
            session.add(OwnerAssignment(team_id=initiative.team_id, initiative_id=initiative.id, role=role,
                                        user_id=user_id, assigned_by=actor.user_id, assigned_at=now))
    if not changes:
        return None
    moved = _move_pending_sign_offs(session, initiative=initiative, changes=changes)
    record_audit(session, team_id=initiative.team_id, actor=actor.user_id, action="owners.changed",
                 subject_type="initiative", subject_key=initiative.key, initiative_id=initiative.id,
                 before={role: old for role, old, _ in changes}, after={role: new for role, _, new in changes})
    event = OwnersChanged(team_id=initiative.team_id, actor=actor.user_id, initiative_id=initiative.id,
                          changes=tuple(changes), moved_sign_off_ids=tuple(moved))
    emit(session, event)
    return event


def _move_pending_sign_offs(
    session: Session, *, initiative: Initiative, changes: list[tuple[str, str | None, str]]
) -> list[int]:
    new_owner = {role: new for role, _, new in changes}
    pending = session.exec(
        select(SignOff)
        .join(GateReview, col(GateReview.id) == SignOff.review_id)
        .where(GateReview.initiative_id == initiative.id, GateReview.state == "open",
               SignOff.state == "pending", col(SignOff.role).in_(new_owner))
    ).all()
    for sign_off in pending:
        sign_off.assignee = new_owner[sign_off.role]
        session.add(sign_off)
    session.flush()
    return [s.id for s in pending]


def change_stage(
    session: Session,
    *,
    initiative: Initiative,
    to_stage: str,
    actor: str,
    reason: str,
    review_id: int | None = None,
    audit_event_id: int | None = None,
    at: datetime | None = None,
) -> StageTransition:
    """The one way a stage changes: a transition row, and the initiative pointing at it."""
    from_stage = initiative.stage
    transition = _record_transition(session, initiative=initiative, from_stage=from_stage, to_stage=to_stage,
                                    at=at or utcnow(),
                                    actor=actor, reason=reason, review_id=review_id,
                                    audit_event_id=audit_event_id)
    emit(session, StageChanged(team_id=initiative.team_id, actor=actor, initiative_id=initiative.id,
                               from_stage=from_stage, to_stage=to_stage, review_id=review_id))
    return transition


def _record_transition(
    session: Session,
    *,
    initiative: Initiative,
    from_stage: str | None,
    to_stage: str,
    at: datetime,
    actor: str,
    reason: str,
    review_id: int | None = None,
    audit_event_id: int | None = None,
) -> StageTransition:
    transition = StageTransition(
        team_id=initiative.team_id,
        initiative_id=initiative.id,
        from_stage=from_stage,
        to_stage=to_stage,
        at=at,
        reason=reason,
        actor=actor,
        review_id=review_id,
        audit_event_id=audit_event_id,
    )
    session.add(transition)
    initiative.stage, initiative.stage_entered_at = to_stage, at
    initiative.current_transition_id = transition.id
    initiative.updated_at = at
    session.add(initiative)
    session.flush()
    return transition


def list_initiatives(
    session: Session,
    *,
    audience: Audience,
    stage: str | None = None,
    owner: str | None = None,
    statuses: Sequence[str] = IN_PROGRESS,
    limit: int | None = None,
) -> list[Initiative]:
    """The initiatives the audience may see, with the given statuses, in a stage or owned/recorded by someone."""
    query = _initiatives_where(select(Initiative), audience=audience, stage=stage, owner=owner, statuses=statuses)
    query = query.order_by(col(Initiative.number))
    if limit:
        query = query.limit(limit)
    return list(session.exec(query))


def count_initiatives(
    session: Session,
    *,
    audience: Audience,
    stage: str | None = None,
    owner: str | None = None,
    statuses: Sequence[str] = IN_PROGRESS,
) -> int:
    """How many initiatives `list_initiatives` would return without a limit (for "and N more")."""
    query = _initiatives_where(select(func.count()).select_from(Initiative), audience=audience, stage=stage,
                               owner=owner, statuses=statuses)
    return int(session.exec(query).one())


def _initiatives_where(query: Any, *, audience: Audience, stage: str | None, owner: str | None,
                       statuses: Sequence[str]) -> Any:
    query = query.where(visible_to(audience), col(Initiative.status).in_(statuses))
    if stage:
        query = query.where(Initiative.stage == stage)
    if owner:
        owned = select(OwnerAssignment.initiative_id).where(OwnerAssignment.user_id == owner)
        query = query.where(col(Initiative.id).in_(owned) | (Initiative.created_by == owner))
    return query


def history(session: Session, *, initiative: Initiative) -> list[AuditEvent]:
    """Every audited change to an initiative, oldest first."""
    return list(session.exec(
        select(AuditEvent).where(AuditEvent.initiative_id == initiative.id).order_by(col(AuditEvent.id))
    ))


def _checked_owners(owners: Mapping[str, str], *, known_roles: object) -> dict[str, str]:
    roles = list(known_roles)  # type: ignore[call-overload]
    checked = {}
    for role, user_id in owners.items():
        if role not in roles:
            raise InvalidInput(f"'{role[:40]}' is not a role here. Roles: {', '.join(roles)}.", field="owners")
        checked[role] = check_user_id(user_id, field=f"owners.{role}")
    return checked


def _checked_channel(channel_id: str | None) -> str | None:
    """The announcements channel: a channel ID (a conversation picker gives one), or none."""
    return check_channel_id(channel_id) if channel_id else None
