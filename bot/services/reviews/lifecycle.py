"""Pause, resume, retire, and the admin's stage override. Each cancels what no longer makes sense.

Hold, recycle and kill, the sponsor's decisions, live in bot/services/outcomes and change the status through
`set_status`, so every status change is audited and announced the same way."""

from __future__ import annotations

from sqlmodel import Session

from bot.services.access.service import Actor, require_admin
from bot.services.audit.service import record_audit, record_audit_at_once
from bot.services.errors import Conflict
from bot.services.events import StatusChanged, emit
from bot.services.gates.service import catalog_for
from bot.services.initiatives.service import change_stage, require_manager
from bot.services.reviews.service import cancel_open_review
from bot.services.validation import REASON, clean_reason, clean_text
from storage.models import Initiative, StageTransition
from storage.types import utcnow


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


