"""A sign-off's deadline: one instant, whoever shows it (the sign-off DM, the nudges, the digest, `show`).

Its SLA (business days, pinned on the review) ends at 17:00 in its assignee's zone on the last of those days,
counted from the day after the request, skipping the workspace's holidays (the newest gate definition's). The
assignee's zone is the one Slack told us; until then DEFAULT_TIMEZONE applies, for every reader alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.services.access.service import zones_of
from bot.services.business_days import WorkCalendar
from bot.services.gates.service import catalog_for
from storage.models import GateReview, SignOff


def work_calendar(session: Session, *, team_id: str, default_zone: ZoneInfo,
                  people: Iterable[str] | None = None) -> WorkCalendar:
    """The zones (of `people`, or of everyone) and holidays the workspace's deadlines run on, in two reads."""
    return WorkCalendar(default_zone=default_zone, zones=zones_of(session, team_id=team_id, user_ids=people),
                        holidays=frozenset(catalog_for(session, team_id=team_id).holidays))


def deadline_of(calendar: WorkCalendar, *, sign_off: SignOff, review: GateReview) -> datetime:
    """When `sign_off` is due."""
    return calendar.deadline(assignee=sign_off.assignee, requested_at=sign_off.requested_at,
                             sla_business_days=review.sla_business_days)
