"""Digest reports made by hand, for what draws or words them (the chart, the message)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services.digest.report import Conversion, DigestReport, FunnelRow, Median, Trend

AS_OF = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def report(funnel: list[tuple[str, int, int, int]], series: dict[str, tuple[int, ...]]) -> DigestReport:
    """`funnel`: (stage name, active, active a week ago, paused)."""
    return DigestReport(
        name="default", scope="all initiatives", as_of=AS_OF, window_start=AS_OF - timedelta(days=7),
        week="2026-W50", timezone="Europe/Berlin",
        funnel=tuple(FunnelRow(name.lower(), name, active, before, paused) for name, active, before, paused in funnel),
        new=(), advanced=(), sent_back=(), paused=(), retired=(), stalled=(), waiting=(), delivery_failures=(),
        broken_links=(), conversion=Conversion(cohort=5, converted=2), median_days_in_stage={"Idea": Median(3, 1)},
        median_turnaround_by_role={}, trend=Trend(points=tuple(AS_OF - timedelta(weeks=11 - n) for n in range(12)),
                                                  series=series),
    )
