"""Digest numbers against a hand-computed fixture history (tests/services/digest/histories.py), on both backends."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.services.digest.service import channel_audience, compute_digest
from storage.models import Digest
from tests.services.digest.histories import AS_OF, Clock, build_fixture_portfolio, utc
from tests.support.factories import TEAM


@pytest.fixture
def report(runtime, monkeypatch):
    build_fixture_portfolio(runtime, Clock(monkeypatch))
    digest = Digest(team_id=TEAM, name="default", channel_id="C1", timezone="Europe/Berlin", created_by="system")
    with runtime.transaction() as session:
        return compute_digest(session, digest=digest, as_of=AS_OF, audience=channel_audience(digest),
                              default_zone=runtime.settings.default_zone)


def test_week_and_funnel_now_and_last_week(report):
    assert report.week == "2026-W48"
    assert report.window_start == utc(2026, 11, 16, 8)  # Monday 09:00 Berlin
    # Now: idea AI-6, AI-7, AI-8, AI-9; pilot AI-2, AI-3 (AI-4 paused, AI-5 retired); production AI-1.
    # A week ago: idea AI-7, AI-8, AI-9; pilot AI-1, AI-2, AI-4, AI-5; production AI-3.
    assert [(r.stage_id, r.active, r.change, r.paused) for r in report.funnel] == [
        ("idea", 4, +1, 0), ("pilot", 2, -2, 1), ("production", 1, 0, 0), ("scaled", 0, 0, 0)]
    assert report.paused_total == 1


def test_moved_this_week(report):
    assert [(m.key, m.detail) for m in report.new] == [("AI-6", "in Idea")]
    assert [(m.key, m.detail) for m in report.advanced] == [
        ("AI-1", "Pilot → Production through Production readiness")]
    assert [(m.key, m.detail) for m in report.sent_back] == [
        ("AI-3", "Production → Pilot: model drift in production"),
        ("AI-8", "changes requested at Pilot approval: no holdout set")]
    assert [(m.key, m.detail) for m in report.paused] == [("AI-4", "in Pilot: waiting for data access")]
    assert [(m.key, m.detail) for m in report.retired] == [("AI-5", "in Pilot: merged into AI-1")]


def test_stalled_uses_the_threshold_and_skips_paused(report):
    # AI-2: pilot since 1 Aug 2025 07:00 UTC -> 479 days > 90. AI-4 is longer than 90 days in Pilot but paused.
    assert [(s.key, s.days_in_stage, s.threshold) for s in report.stalled] == [("AI-2", 479, 90)]


def test_waiting_on_sign_offs_overdue_first(report):
    # Deadlines run on the assignee's clock, not the digest's (Berlin): Slack has not told us UDATA's zone, so
    # DEFAULT_TIMEZONE (UTC) applies, as it does for their nudges.
    # AI-7 requested Mon 9 Nov: 5 business days end Mon 16 Nov 17:00 UTC -> overdue; waited 10 business days.
    # AI-6 requested Wed 18 Nov: due Wed 25 Nov 17:00 -> not overdue; waited Thu, Fri, Mon = 3.
    assert [(w.key, w.role_name, w.assignee, w.overdue, w.business_days_waiting) for w in report.waiting] == [
        ("AI-7", "Data owner", "UDATA", True, 10),
        ("AI-7", "Engineering owner", "UENG", True, 10),
        ("AI-6", "Data owner", "UDATA", False, 3),
        ("AI-6", "Engineering owner", "UENG", False, 3),
    ]
    assert report.waiting[0].due_at == utc(2026, 11, 16, 17)
    assert report.waiting[0].gate_name == "Pilot approval"


def test_pilot_to_production_conversion(report):
    # First entry into Pilot within (23 Nov 2025, 23 Nov 2026]: AI-1, AI-3, AI-4, AI-5 (AI-2 entered in 2025).
    # Entered Production by as_of: AI-1, and AI-3 although it went back. 2 of 4.
    assert (report.conversion.cohort, report.conversion.converted, report.conversion.rate) == (4, 2, 0.5)


def test_median_days_in_stage_over_completed_stays(report):
    # Idea: AI-1 1 Dec->8 Jan 38, AI-3 2 Feb->2 Mar 28, AI-4 1 Apr->4 May 33, AI-5 12 Jan->9 Feb 28
    #       (AI-2's stay ended in 2025, outside the year) -> 28, 28, 33, 38 -> 30.5.
    # Pilot: AI-1 8 Jan->18 Nov 314, AI-3 2 Mar->1 Jun 91 -> 202.5. Production: AI-3 1 Jun->19 Nov 171.
    medians = {name: (m.days, m.count) for name, m in report.median_days_in_stage.items()}
    assert medians == {"Idea": (30.5, 4), "Pilot": (202.5, 2), "Production": (171.0, 1), "Scaled": (None, 0)}


def test_median_sign_off_turnaround_by_role(report):
    # Gates passed in the year: AI-1 x2, AI-3 x2, AI-4, AI-5 -> business 1 d, data 2 d, engineering 3 d each.
    # Plus: business AI-6 1 d, AI-7 1 d; data AI-8 1 d; engineering AI-7 changes 2 d, AI-8 changes 4 d.
    # business [1]*8 -> 1.0; data [2]*6 + [1] -> 2.0; engineering [3]*6 + [2, 4] -> 3.0. Cancelled ones don't count.
    medians = {name: (m.days, m.count) for name, m in report.median_turnaround_by_role.items()}
    assert medians == {"Business owner": (1.0, 8), "Data owner": (2.0, 7), "Engineering owner": (3.0, 8),
                       "Compliance": (None, 0)}


def test_trend_points_keep_the_local_hour_across_dst(report):
    points: tuple[datetime, ...] = report.trend.points
    assert len(points) == 12 and points[-1] == AS_OF
    # 11 weeks earlier is Mon 7 Sep 09:00 Berlin summer time = 07:00 UTC.
    assert points[0] == utc(2026, 9, 7, 7)
    # Then: idea AI-7; pilot AI-1, AI-2, AI-4, AI-5; production AI-3.
    assert [series[0] for series in report.trend.series.values()] == [1, 4, 1, 0]
    assert [series[-1] for series in report.trend.series.values()] == [4, 2, 1, 0]
