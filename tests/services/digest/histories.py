"""A hand-written portfolio history, built through the real services with a controlled clock.

The digest is read as of Monday 23 Nov 2026 09:00 Europe/Berlin (08:00 UTC); its week is the 7 local days
from Monday 16 Nov 09:00 (08:00 UTC). Expected values are worked out by hand in tests/services/digest/test_metrics.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from bot.runtime import Runtime
from bot.services.access.visibility import Audience
from bot.services.audit import service as audit
from bot.services.initiatives import service as initiatives
from bot.services.initiatives.service import create_initiative, get_initiative
from bot.services.reviews import service as lifecycle
from bot.services.reviews import service as reviews
from storage.models import GateReview, SignOff
from tests.support.factories import TEAM, actor

EVERYONE = Audience.workspace(team_id=TEAM)  # who reads: anyone in the test workspace

AS_OF = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}
ADMIN = actor("UADMIN", admin=True)
CLOCKED_MODULES = (audit, initiatives, lifecycle, reviews)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


class Clock:
    """Sets the time the services see (they read `utcnow` when no `now=` is passed)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    @contextmanager
    def at(self, moment: datetime) -> Iterator[None]:
        for module in CLOCKED_MODULES:
            self.monkeypatch.setattr(module, "utcnow", lambda: moment)
        yield


class History:
    def __init__(self, runtime: Runtime, clock: Clock) -> None:
        self.runtime, self.clock = runtime, clock

    def create(self, title: str, at: datetime) -> str:
        with self.runtime.transaction() as session:
            return create_initiative(session, actor=actor("UBIZ"), title=title, owners=OWNERS, now=at).key

    def submit(self, key: str, at: datetime) -> dict[str, int]:
        with self.runtime.transaction() as session:
            initiative = get_initiative(session, audience=EVERYONE, key=key)
            review = reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative, now=at)
            return {s.role: s.id for s in reviews.sign_offs_of(session, review_id=review.id)}

    def approve(self, sign_off_id: int, at: datetime) -> None:
        with self.runtime.transaction() as session:
            sign_off = session.get(SignOff, sign_off_id)
            review = session.get(GateReview, sign_off.review_id)
            items = [i.id for i in reviews.checklist_of(session, sign_off, review)]
            reviews.approve(session, actor=actor(sign_off.assignee), sign_off_id=sign_off_id, ticked=items, now=at)

    def request_changes(self, sign_off_id: int, at: datetime, reason: str) -> None:
        with self.runtime.transaction() as session:
            assignee = session.get(SignOff, sign_off_id).assignee
            reviews.request_changes(session, actor=actor(assignee), sign_off_id=sign_off_id, reason=reason, now=at)

    def pass_gate(self, key: str, at: datetime) -> None:
        """Submitted 3 days before `at`; business decides after 1 day, data after 2, engineering after 3."""
        sign_offs = self.submit(key, at - timedelta(days=3))
        self.approve(sign_offs["business"], at - timedelta(days=2))
        self.approve(sign_offs["data"], at - timedelta(days=1))
        self.approve(sign_offs["engineering"], at)

    def lifecycle(self, key: str, at: datetime, change: str, reason: str, **kwargs: str) -> None:
        with self.clock.at(at), self.runtime.transaction() as session:
            initiative = get_initiative(session, audience=EVERYONE, key=key)
            who = ADMIN if change in ("retire", "move_stage") else actor("UBIZ")
            getattr(lifecycle, change)(session, actor=who, initiative=initiative, reason=reason, **kwargs)


def build_fixture_portfolio(runtime: Runtime, clock: Clock) -> None:
    h = History(runtime, clock)
    # AI-1: Pilot on 8 Jan, Production on Wed 18 Nov (in the week).
    h.create("Claims triage assistant", utc(2025, 12, 1, 10))
    h.pass_gate("AI-1", utc(2026, 1, 8, 10))
    h.pass_gate("AI-1", utc(2026, 11, 18, 10))
    # AI-2: in Pilot since 1 Aug 2025 07:00 UTC: 479 days at as_of, over the 90-day threshold.
    h.create("Invoice field extraction", utc(2025, 6, 1, 10))
    h.pass_gate("AI-2", utc(2025, 8, 1, 7))
    # AI-3: Pilot 2 Mar, Production 1 Jun, sent back to Pilot by an admin on Thu 19 Nov.
    h.create("Churn early-warning model", utc(2026, 2, 2, 10))
    h.pass_gate("AI-3", utc(2026, 3, 2, 10))
    h.pass_gate("AI-3", utc(2026, 6, 1, 10))
    h.lifecycle("AI-3", utc(2026, 11, 19, 12), "move_stage", "model drift in production", to_stage="pilot")
    # AI-4: Pilot 4 May, paused Tue 17 Nov: long in Pilot but paused, so not stalled.
    h.create("Supplier risk scoring", utc(2026, 4, 1, 10))
    h.pass_gate("AI-4", utc(2026, 5, 4, 10))
    h.lifecycle("AI-4", utc(2026, 11, 17, 9), "pause", "waiting for data access")
    # AI-5: Pilot 9 Feb, retired Fri 20 Nov.
    h.create("Contract clause search", utc(2026, 1, 12, 10))
    h.pass_gate("AI-5", utc(2026, 2, 9, 10))
    h.lifecycle("AI-5", utc(2026, 11, 20, 10), "retire", "merged into AI-1")
    # AI-6: new on Tue 17 Nov; submitted Wed 18 Nov, business approved, data and engineering pending.
    h.create("Call-centre summarisation", utc(2026, 11, 17, 10))
    pending = h.submit("AI-6", utc(2026, 11, 18, 9))
    h.approve(pending["business"], utc(2026, 11, 19, 9))
    # AI-7: changes requested in October (before the week); resubmitted Mon 9 Nov, data and engineering overdue.
    h.create("Demand forecasting for stores", utc(2026, 9, 1, 10))
    first = h.submit("AI-7", utc(2026, 10, 26, 9))
    h.request_changes(first["engineering"], utc(2026, 10, 28, 9), "experiments are not tracked")
    second = h.submit("AI-7", utc(2026, 11, 9, 9))
    h.approve(second["business"], utc(2026, 11, 10, 9))
    # AI-8: submitted Mon 16 Nov 09:30 UTC, data approved, engineering sent it back on Fri 20 Nov.
    h.create("Fraud rules assistant", utc(2026, 10, 5, 10))
    eighth = h.submit("AI-8", utc(2026, 11, 16, 9, 30))
    h.approve(eighth["data"], utc(2026, 11, 17, 9, 30))
    h.request_changes(eighth["engineering"], utc(2026, 11, 20, 9, 30), "no holdout set")
    # AI-9: created at 08:30 Berlin on Mon 16 Nov, half an hour before the week began: not new.
    h.create("Email routing", utc(2026, 11, 16, 7, 30))
    # AI-10: created after as_of (09:30 Berlin on Mon 23 Nov): not in this digest at all.
    h.create("Meeting notes", utc(2026, 11, 23, 8, 30))
