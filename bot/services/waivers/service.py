"""Waiving an expired waiver's item again: `/initiative condition waive AI-7-W1 until YYYY-MM-DD <reason>`."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, select

from bot.services.access.service import Actor
from bot.services.errors import InvalidInput, PermissionDenied
from bot.services.initiatives.service import owners_of
from bot.services.reviews.service import check_waiver_expiry
from bot.services.tracked_items import service as tracked_items
from bot.services.validation import clean_reason
from storage.models import ChecklistWaiver, Initiative, TrackedItem


def waive_again(session: Session, *, actor: Actor, initiative: Initiative, item: TrackedItem, until: date,
                reason: str, today: date, now: datetime) -> ChecklistWaiver:
    """Waive the item of an expired waiver again, until `until` (after `today`, the actor's date, within a year),
    with a reason: by the item's owner, the initiative's sponsor or an admin. The tracked item closes (cancelled,
    waived again), and the waiver runs again with the person waiving as its owner: warned 5 business days before
    the new date, and tracked again if it expires again. The previous waiver stays in the audit trail."""
    key = tracked_items.key_of(initiative, item)
    if item.kind != tracked_items.WAIVER:
        raise InvalidInput(f"{key} is a condition: it is met, cancelled or reassigned, not waived.", field="key")
    sponsor = owners_of(session, initiative_id=initiative.id).get(tracked_items.SPONSOR)
    if not (actor.is_admin or actor.user_id in (item.owner, sponsor)):
        raise PermissionDenied(f"Only {key}'s owner, {initiative.key}'s sponsor or an admin can waive it again.")
    reason = clean_reason(reason, what=f"reason for waiving {key} again")
    until = check_waiver_expiry(until, today)
    waiver = session.exec(select(ChecklistWaiver).where(ChecklistWaiver.sign_off_id == item.sign_off_id,
                                                        ChecklistWaiver.item_id == item.checklist_item)
                          .with_for_update()).one()
    tracked_items.close_waived_again(session, actor=actor, initiative=initiative, item=item,
                                     reason=f"waived again until {until.isoformat()}: {reason}",
                                     details={"expires_on": until.isoformat(), "waived_by": actor.user_id})
    waiver.reason, waiver.expires_on, waiver.waived_by, waiver.waived_at = reason, until, actor.user_id, now
    waiver.warned_at = waiver.expired_at = None
    session.add(waiver)
    session.flush()
    return waiver
