"""The weekly pilot-to-production digest: definitions, metrics, schedule. No Slack imports here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.delivery.outbox import describe_error, failed_messages
from bot.services.access.visibility import Audience
from bot.services.digest import metrics
from bot.services.digest.history import DigestData, load_digest_data
from bot.services.digest.report import DeliveryFailure, DigestReport
from bot.services.digest.schedule import Window, window_ending, zone_named
from bot.services.webhooks.evidence import BrokenLink, broken_links
from storage.models import Digest

FAILURES_LISTED = 50


def scope_of(digest: Digest) -> str:
    if digest.filter_tag:
        return f"tag {digest.filter_tag}"
    if digest.filter_business_unit:
        return f"team {digest.filter_business_unit}"
    return "all initiatives"


def build_report(data: DigestData, *, name: str, scope: str, window: Window,
                 delivery_failures: Sequence[DeliveryFailure] = (),
                 broken_evidence: Sequence[BrokenLink] = ()) -> DigestReport:
    """Pure: the whole digest from loaded rows."""
    moved = metrics.moved(data, window)
    hidden_moved = metrics.moved(replace(data, initiatives=data.hidden), window) if data.hidden else {}
    points = metrics.trend_points(window)
    counts = metrics.counts_over_time(data.initiatives.values(), (*points, window.start))
    return DigestReport(
        name=name,
        scope=scope,
        as_of=window.end,
        window_start=window.start,
        week=window.week,
        timezone=window.zone.key,
        funnel=metrics.funnel(data, window, counts),
        new=moved["new"],
        imported=moved["imported"],
        advanced=moved["advanced"],
        sent_back=moved["sent_back"],
        paused=moved["paused"],
        retired=moved["retired"],
        stalled=metrics.stalled(data, window),
        waiting=metrics.waiting(data, window),
        delivery_failures=tuple(delivery_failures),
        broken_links=tuple(broken_evidence),
        conversion=metrics.conversion(data, window.end),
        median_days_in_stage=metrics.median_days_in_stage(data, window),
        median_turnaround_by_role=metrics.median_turnaround_by_role(data),
        trend=metrics.trend(data, points, counts),
        recycled=moved["recycled"],
        held=moved["held"],
        killed=moved["killed"],
        holds_due=metrics.holds_due(data, window),
        confidential_moved={kind: len(items) for kind, items in hidden_moved.items() if items},
    )


def channel_audience(digest: Digest) -> Audience:
    """Who reads the digest as posted: everyone in its channel."""
    return Audience.channel(team_id=digest.team_id, channel_id=digest.channel_id)


def compute_digest(session: Session, *, digest: Digest, as_of: datetime, audience: Audience,
                   default_zone: ZoneInfo) -> DigestReport:
    """One digest as of a moment, of what `audience` may see (`channel_audience` for the digest as posted), read
    with a fixed number of queries (nine, plus one or two for evidence). `default_zone` (DEFAULT_TIMEZONE) is the
    zone of assignees Slack has not told us theirs, for their sign-offs' deadlines."""
    window = window_ending(as_of, zone_named(digest.timezone))
    data = load_digest_data(session, audience=audience, as_of=as_of, since=window.start, default_zone=default_zone,
                            tag=digest.filter_tag, business_unit=digest.filter_business_unit)
    return build_report(data, name=digest.name, scope=scope_of(digest), window=window,
                        delivery_failures=delivery_failures(session, team_id=digest.team_id, window=window),
                        broken_evidence=broken_links(session, audience=audience))


def delivery_failures(session: Session, *, team_id: str, window: Window) -> list[DeliveryFailure]:
    """Outbox messages Slack refused for good during the week (platform's query), newest first."""
    return [
        DeliveryFailure(method=message.method, channel=str(message.payload.get("channel") or ""),
                        error=describe_error(message.last_error), at=message.failed_at)
        for message in failed_messages(session, team_id=team_id, since=window.start, limit=FAILURES_LISTED)
        if message.failed_at is not None and message.failed_at <= window.end
    ]
