"""Automatic checklist items (MLflow model checks): queued when a review opens, results kept per review.

An item is automatic when its gate definition gives it a `check` (see `bot.services.gates.catalog.ChecklistItem`).
Results are `passed` / `failed` with their evidence, or `unknown` ("could not check"), which neither passes nor
fails: the owner ticks or waives the item as usual. Unknown results are retried while the review is open.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.integrations.mlflow import CheckResult
from bot.services.events import AutomaticCheckChanged, DomainEvent, ReviewOpened, emit
from bot.services.reviews.service import gate_of, lock_open_reviews
from bot.services.webhooks.evidence import CHECK_LEASE
from storage.models import AutomaticCheck, GateReview, Initiative

RETRY_UNKNOWN_AFTER = timedelta(minutes=15)


class AutomaticCheckEvents:
    """Domain-event handler: one pending check per automatic item of the review's gate."""

    def __call__(self, session: Session, event: DomainEvent) -> None:
        if not isinstance(event, ReviewOpened):
            return
        review = session.get(GateReview, event.review_id)
        if review is None:
            return
        initiative = session.get(Initiative, review.initiative_id)
        # A check that names no model checks the initiative's own (none named: it stays unknown, and says why).
        own_model = {"mlflow_model": initiative.mlflow_model if initiative else None}
        for role, items in gate_of(session, review).checklist.items():
            for item in items:
                if item.check is None:
                    continue
                try:
                    with session.begin_nested():
                        session.add(AutomaticCheck(team_id=review.team_id, review_id=review.id, role=role,
                                                   item_id=item.id, spec={**own_model, **item.check}))
                        session.flush()
                except IntegrityError:
                    continue


def claim_due_checks(session: Session, *, now: datetime, limit: int = 100) -> list[AutomaticCheck]:
    """Pending checks, and unknown ones worth another try, on reviews still open; claimed for `CHECK_LEASE`, as
    evidence links are (`claim_due_links`): each check runs in one replica at a time, so two runs never record
    out of order. `record_checks` releases the claim; a claim whose results never come runs out."""
    open_reviews = select(GateReview.id).where(GateReview.state == "open")
    query = (
        select(AutomaticCheck)
        .where(
            col(AutomaticCheck.review_id).in_(open_reviews),
            (col(AutomaticCheck.outcome) == "pending")
            | ((col(AutomaticCheck.outcome) == "unknown")
               & (col(AutomaticCheck.checked_at) < now - RETRY_UNKNOWN_AFTER)),
            or_(col(AutomaticCheck.claimed_until).is_(None), col(AutomaticCheck.claimed_until) <= now),
        )
        .order_by(col(AutomaticCheck.id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=AutomaticCheck)  # type: ignore[arg-type]
    )
    due = list(session.exec(query))
    if due:
        session.execute(update(AutomaticCheck).where(col(AutomaticCheck.id).in_([check.id for check in due]))
                        .values(claimed_until=now + CHECK_LEASE))
    return due


def record_checks(session: Session, *, results: Mapping[int, CheckResult], now: datetime) -> None:
    """Keep what the checks found, by check id. A result that changes (outcome or evidence) gets an
    `AutomaticCheckChanged`, so the role's pending sign-off DM is updated in this transaction; its review is
    locked first, as a decision locks it (see `lock_open_reviews`)."""
    rows = session.exec(select(AutomaticCheck.id, AutomaticCheck.team_id, AutomaticCheck.review_id,
                               AutomaticCheck.role, AutomaticCheck.outcome, AutomaticCheck.evidence)
                        .where(col(AutomaticCheck.id).in_(list(results))))
    changed = list(dict.fromkeys(
        (team_id, review_id, role) for check_id, team_id, review_id, role, outcome, evidence in rows
        if (outcome, evidence) != (results[check_id].outcome, results[check_id].evidence[:500])))
    lock_open_reviews(session, review_ids={review_id for _, review_id, _ in changed})
    for check_id, result in sorted(results.items()):
        session.execute(update(AutomaticCheck).where(col(AutomaticCheck.id) == check_id)
                        .values(outcome=result.outcome, evidence=result.evidence[:500], checked_at=now,
                                claimed_until=None))
    for team_id, review_id, role in changed:
        emit(session, AutomaticCheckChanged(team_id=team_id, actor="system", review_id=review_id, role=role))


def results_for(session: Session, *, review_id: int, role: str) -> dict[str, AutomaticCheck]:
    """What the bot found for a role's automatic items on a review, by item id (for the Approve modal)."""
    rows = session.exec(select(AutomaticCheck).where(AutomaticCheck.review_id == review_id,
                                                     AutomaticCheck.role == role))
    return {row.item_id: row for row in rows}
