"""Builders for nudge tests on a real database: initiatives with open reviews requested at a chosen moment."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from bot.runtime import Runtime
from bot.services.initiatives.service import create_initiative
from bot.services.reviews import service as reviews
from storage.models import NudgeLog, OutboxMessage, SignOff
from tests.support.factories import TEAM, actor

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG", "sponsor": "USPONSOR"}


def open_review(runtime: Runtime, *, asked: datetime, owners: dict[str, str] | None = None,
                title: str = "Claims triage", team_id: str = TEAM) -> dict[str, int]:
    """An initiative submitted for its first gate at `asked`; returns role -> sign-off id."""
    owners = owners or OWNERS
    submitter = actor(owners["business"], team_id=team_id)
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=submitter, title=title, owners=owners, now=asked)
        review = reviews.submit_for_next_gate(session, actor=submitter, initiative=initiative, now=asked)
        return {s.role: s.id for s in reviews.sign_offs_of(session, review_id=review.id)}


def approve(runtime: Runtime, sign_off_id: int, user_id: str, *, now: datetime | None = None) -> reviews.Decision:
    with runtime.transaction() as session:
        sign_off = session.get(SignOff, sign_off_id)
        review = session.get(reviews.GateReview, sign_off.review_id)
        items = [item.id for item in reviews.checklist_of(session, sign_off, review)]
        return reviews.approve(session, actor=actor(user_id), sign_off_id=sign_off_id, ticked=items, now=now)


def outbox_dms(runtime: Runtime, team_id: str = TEAM) -> dict[str, list[dict]]:
    """recipient -> payloads of the chat.postMessage rows in the outbox, oldest first."""
    with runtime.transaction() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.team_id == team_id)
                            .order_by(col(OutboxMessage.id))).all()
        result: dict[str, list[dict]] = {}
        for row in rows:
            result.setdefault(row.payload["channel"], []).append(row.payload)
        return result


def logged(runtime: Runtime) -> list[tuple[str, str, str]]:
    with runtime.transaction() as session:
        rows = session.exec(select(NudgeLog).order_by(col(NudgeLog.id))).all()
        return [(r.recipient, r.kind, r.local_date.isoformat()) for r in rows]


def listed_keys(payload: dict) -> list[str]:
    """The sign-off ids a DM lists, from its item blocks, in order."""
    return [b["block_id"].removeprefix("nudge.item.") for b in payload["blocks"]
            if b.get("block_id", "").startswith("nudge.item.")]
