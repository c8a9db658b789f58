"""What the waiver job calls (bot/jobs/waivers.py): `run_waivers`, which expires what is due, then warns of what
soon will be:
- 5 business days before a waiver expires, the person who waived the item is told, in a DM sent in their working
  hours (09:00-17:00 on a business day in their zone, the workspace's holidays excepted). One person's due
  waivers share one DM. The domain words nothing: the job hands in how the DM reads (`render`).
- On its expiry date (from 00:00 in that person's zone) the waiver expires: the item becomes a tracked item
  `KEY-W<n>` owned by them, due that day, audited as `waiver.expired`. Like an open condition it blocks the
  initiative's next review until it is met with evidence or waived again (bot/services/tracked_items).

Only waivers of reviews that passed count (a waiver in a review sent back for changes never took effect), and
not those of killed or retired initiatives. Each waiver is warned once and expires once, whatever the replicas:
its `warned_at` (`expired_at`) is set by a compare-and-set update in the same transaction as the DM's outbox row
(the tracked item). On PostgreSQL a second replica's update waits for the first's commit, then matches no row; on
SQLite transactions begin with BEGIN IMMEDIATE.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.delivery.outbox import enqueue
from bot.services.access.service import zone_for
from bot.services.business_days import in_working_hours, local_date, nth_business_day_after
from bot.services.gates.service import catalog_for
from bot.services.scheduling import JobRuntime
from bot.services.tracked_items import service as tracked_items
from storage.models import ChecklistWaiver, GateReview, Initiative, SignOff
from storage.types import utcnow

WARN_BUSINESS_DAYS = 5
TICK_MINUTES = 15
ENDED = ("retired", "killed")
# No zone is more than 14 hours ahead of UTC, and 5 business days span at most 3 weeks of calendar, holidays
# included in any workspace we know: waivers expiring later are not looked at.
LOOKAHEAD = timedelta(days=21, hours=14)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WaiverShown:
    """One waived item, as a DM or a listing shows it."""

    initiative_key: str
    initiative_title: str
    gate_name: str
    item_label: str
    reason: str
    expires_on: date


@dataclass(frozen=True)
class ExpiryWarning:
    """The DM to one person: their waivers that expire within 5 business days."""

    recipient: str
    waivers: tuple[WaiverShown, ...]


# The warning as the payload of a chat.postMessage (text, blocks), without the channel.
WarningRenderer = Callable[[ExpiryWarning], dict[str, Any]]


def run_waivers(runtime: JobRuntime, *, render: WarningRenderer, now: datetime | None = None) -> None:
    """The waiver job: expire what is due, then warn of what soon will be, each in its own transaction."""
    expire_waivers(runtime, now=now)
    send_expiry_warnings(runtime, render=render, now=now)


def send_expiry_warnings(runtime: JobRuntime, *, render: WarningRenderer, now: datetime | None = None) -> int:
    """Write the warnings that are due to the outbox, in one transaction; returns how many DMs."""
    now = (now or utcnow()).astimezone(UTC)
    written = 0
    with runtime.transaction() as session:
        due: dict[tuple[str, str], list[WaiverShown]] = {}
        for waiver, initiative in _unwarned_waivers(session, now):
            if _warning_due(session, waiver, now=now, default_zone=runtime.settings.default_zone) \
                    and _claim(session, waiver, column=ChecklistWaiver.warned_at, now=now):
                due.setdefault((waiver.team_id, waiver.waived_by), []).append(shown(session, waiver, initiative))
        for (team_id, recipient), waivers in due.items():
            warning = ExpiryWarning(recipient=recipient, waivers=tuple(waivers))
            enqueue(session, team_id=team_id, method="chat.postMessage", payload={"channel": recipient,
                                                                                   **render(warning)})
            written += 1
    if written:
        log.info("waiver expiry warnings: %d written to the outbox", written)
    return written


def expire_waivers(runtime: JobRuntime, *, now: datetime | None = None) -> int:
    """Turn the waivers whose expiry date has come into tracked items, in one transaction; returns how many."""
    now = (now or utcnow()).astimezone(UTC)
    expired = 0
    with runtime.transaction() as session:
        horizon = (now + timedelta(hours=14)).date()  # no zone is further ahead of UTC
        due = [(waiver, initiative) for waiver, initiative in session.exec(
                   in_force().where(col(ChecklistWaiver.expires_on) <= horizon))
               if _expired_for_its_owner(session, waiver, now=now, default_zone=runtime.settings.default_zone)]
        # Every initiative's row lock before the first audited change, in id order, as requests take them.
        locked = {initiative.id: initiative for initiative in session.exec(
            select(Initiative).where(col(Initiative.id).in_({i.id for _, i in due})).order_by(col(Initiative.id))
            .with_for_update().execution_options(populate_existing=True))}
        for waiver, initiative in due:
            if _claim(session, waiver, column=ChecklistWaiver.expired_at, now=now):
                _track(session, waiver, locked[initiative.id])
                expired += 1
    if expired:
        log.info("waivers expired: %d became tracked items", expired)
    return expired


def _expired_for_its_owner(session: Session, waiver: ChecklistWaiver, *, now: datetime, default_zone: Any) -> bool:
    zone = zone_for(session, team_id=waiver.team_id, user_id=waiver.waived_by, default=default_zone)
    return local_date(now, zone) >= waiver.expires_on


def _track(session: Session, waiver: ChecklistWaiver, initiative: Initiative) -> None:
    review = _review_of(session, waiver)
    label = shown(session, waiver, initiative).item_label
    tracked_items.create_item(
        session, actor="system", initiative=initiative, kind=tracked_items.WAIVER,
        text=f"{label} (waived until {waiver.expires_on.isoformat()}: {waiver.reason})"[:tracked_items.ITEM_TEXT.limit],
        owner=waiver.waived_by, due_on=waiver.expires_on, gate_slug=waiver.gate_slug, stage=review.to_stage,
        review_id=review.id, sign_off_id=waiver.sign_off_id, checklist_item=waiver.item_id,
        details={"role": waiver.role, "item": waiver.item_id, "reason": waiver.reason,
                 "waived_by": waiver.waived_by, "expires_on": waiver.expires_on.isoformat()},
        what="expired")


def _review_of(session: Session, waiver: ChecklistWaiver) -> GateReview:
    return session.exec(select(GateReview).join(SignOff, col(SignOff.review_id) == GateReview.id)
                        .where(SignOff.id == waiver.sign_off_id)).one()


def shown(session: Session, waiver: ChecklistWaiver, initiative: Initiative) -> WaiverShown:
    """A waiver with its gate's and item's names, as the review's definition version words them."""
    review = _review_of(session, waiver)
    gate = catalog_for(session, team_id=waiver.team_id, version=review.definition_version).gate(waiver.gate_slug)
    label = next((item.label for item in gate.checklist_for(waiver.role) if item.id == waiver.item_id),
                 waiver.item_id)
    return WaiverShown(initiative_key=initiative.key, initiative_title=initiative.title, gate_name=gate.name,
                       item_label=label, reason=waiver.reason, expires_on=waiver.expires_on)


def in_force() -> Any:
    """The query of waivers that took effect (their review passed) on initiatives still going, not yet expired."""
    return (select(ChecklistWaiver, Initiative)
            .join(SignOff, col(SignOff.id) == ChecklistWaiver.sign_off_id)
            .join(GateReview, col(GateReview.id) == SignOff.review_id)
            .join(Initiative, col(Initiative.id) == ChecklistWaiver.initiative_id)
            .where(GateReview.state == "passed", col(Initiative.status).not_in(ENDED),
                   col(ChecklistWaiver.expired_at).is_(None))
            .order_by(col(ChecklistWaiver.id)))


def _unwarned_waivers(session: Session, now: datetime) -> list[tuple[ChecklistWaiver, Initiative]]:
    horizon = (now + LOOKAHEAD).date()
    return list(session.exec(in_force().where(col(ChecklistWaiver.warned_at).is_(None),
                                                 col(ChecklistWaiver.expires_on) <= horizon)))


def _warning_due(session: Session, waiver: ChecklistWaiver, *, now: datetime, default_zone: Any) -> bool:
    """Within 5 business days of its expiry in the waiver's owner's zone, before it, and in their working hours."""
    zone = zone_for(session, team_id=waiver.team_id, user_id=waiver.waived_by, default=default_zone)
    holidays = catalog_for(session, team_id=waiver.team_id).holidays
    today = local_date(now, zone)
    if today >= waiver.expires_on or not in_working_hours(now, zone, holidays):
        return False
    return nth_business_day_after(today, WARN_BUSINESS_DAYS, holidays) >= waiver.expires_on


def _claim(session: Session, waiver: ChecklistWaiver, *, column: Any, now: datetime) -> bool:
    """Set the waiver's `warned_at` or `expired_at`; False if it already was (here or by another replica)."""
    result = session.execute(update(ChecklistWaiver).where(col(ChecklistWaiver.id) == waiver.id, col(column).is_(None))
                             .values({column: now}))
    return result.rowcount == 1
