"""The weekly pilot-to-production digest: definitions, metrics, schedule. No Slack imports here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.delivery.outbox import describe_error, failed_messages
from bot.services.access.service import Audience
from bot.services.digest import metrics
from bot.services.digest.chart import render_chart
from bot.services.digest.definitions import (
    DEFAULT_NAME,
    RESERVED_NAMES,
    DigestStatus,
    add_digest,
    digest_statuses,
    edit_digest,
    ensure_default_digests,
    get_digest,
    preview_digest,
    set_digest_enabled,
    status_of,
)
from bot.services.digest.history import DigestData, load_digest_data
from bot.services.digest.report import (
    ConditionCounts,
    DeliveryFailure,
    DigestReport,
    ExpiredWaiver,
    FlaggedItem,
    HoldDue,
    Median,
    Movement,
    PastTarget,
    StalledItem,
    WaitingItem,
)
from bot.services.digest.schedule import Window, end_of_day, window_ending, zone_named
from bot.services.kpis import service as kpi_value
from bot.services.kpis.service import ValueRow
from bot.services.reviews.service import work_calendar
from bot.services.tracked_items.service import CONDITION, due_instant, met_between
from bot.services.waiting.service import open_items
from bot.services.webhooks.service import BrokenLink, broken_links
from storage.models import Digest

# The domain's public face: what the rest of the bot may call (its other modules are internals).
__all__ = [
    "DEFAULT_NAME", "FAILURES_LISTED", "NO_CONDITIONS", "RESERVED_NAMES", "DigestReport", "DigestStatus",
    "ExpiredWaiver", "FlaggedItem", "HoldDue", "Median", "Movement", "PastTarget", "StalledItem", "WaitingItem",
    "add_digest", "build_report", "channel_audience", "compute_digest", "condition_counts", "delivery_failures",
    "digest_statuses", "edit_digest", "end_of_day", "ensure_default_digests", "get_digest", "preview_digest",
    "render_chart", "scope_of", "set_digest_enabled", "status_of", "zone_named"
]

FAILURES_LISTED = 50
NO_CONDITIONS = ConditionCounts()


def scope_of(digest: Digest) -> str:
    if digest.filter_tag:
        return f"tag {digest.filter_tag}"
    if digest.filter_business_unit:
        return f"team {digest.filter_business_unit}"
    return "all initiatives"


def build_report(data: DigestData, *, name: str, scope: str, window: Window,
                 delivery_failures: Sequence[DeliveryFailure] = (),
                 broken_evidence: Sequence[BrokenLink] = (),
                 conditions: ConditionCounts = NO_CONDITIONS, value: Sequence[ValueRow] = ()) -> DigestReport:
    """Pure: the whole digest from loaded rows."""
    moved = metrics.moved(data, window)
    hidden_moved = metrics.moved(replace(data, initiatives=data.hidden), window) if data.hidden else {}
    # The funnel and trend (and the chart drawn from them) are totals: they count the initiatives the readers may
    # not see too, which are never named.
    counted = replace(data, initiatives={**data.initiatives, **data.hidden}) if data.hidden else data
    points = metrics.trend_points(window)
    counts = metrics.counts_over_time(counted.initiatives.values(), (*points, window.start))
    return DigestReport(
        name=name,
        scope=scope,
        as_of=window.end,
        window_start=window.start,
        week=window.week,
        timezone=window.zone.key,
        funnel=metrics.funnel(counted, window, counts),
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
        trend=metrics.trend(counted, points, counts),
        recycled=moved["recycled"],
        held=moved["held"],
        killed=moved["killed"],
        holds_due=metrics.holds_due(data, window),
        unclassified=metrics.unclassified(data, window),
        flagged=metrics.flagged(data, window),
        past_target=metrics.past_target(data, window),
        expired_waivers=metrics.expired_waivers(data, window),
        conditions=conditions,
        value=tuple(value),
        value_totals=kpi_value.totals(value),
        confidential_moved={kind: len(items) for kind, items in hidden_moved.items() if items},
    )


def channel_audience(digest: Digest) -> Audience:
    """Who reads the digest as posted: everyone in its channel."""
    return Audience.channel(team_id=digest.team_id, channel_id=digest.channel_id)


def compute_digest(session: Session, *, digest: Digest, as_of: datetime, audience: Audience,
                   default_zone: ZoneInfo) -> DigestReport:
    """One digest as of a moment, of what `audience` may see (`channel_audience` for the digest as posted), read
    with a fixed number of queries (`load_digest_data`'s ten, the failed outbox, one or two for evidence, the
    Conditions line's, and one plus one per live stage for the KPIs). `default_zone` (DEFAULT_TIMEZONE) is the
    zone of assignees Slack has not told us theirs, for their sign-offs' deadlines."""
    window = window_ending(as_of, zone_named(digest.timezone))
    data = load_digest_data(session, audience=audience, as_of=as_of, since=window.start, default_zone=default_zone,
                            tag=digest.filter_tag, business_unit=digest.filter_business_unit)
    return build_report(data, name=digest.name, scope=scope_of(digest), window=window,
                        delivery_failures=delivery_failures(session, team_id=digest.team_id, window=window),
                        broken_evidence=broken_links(session, audience=audience),
                        conditions=condition_counts(session, data=data, window=window, audience=audience,
                                                    default_zone=default_zone),
                        value=kpi_value.live_value(session, team_id=digest.team_id,
                                                   initiative_ids=data.initiatives.keys(),
                                                   today=window.end.astimezone(window.zone).date()))


def condition_counts(session: Session, *, data: DigestData, window: Window, audience: Audience,
                     default_zone: ZoneInfo) -> ConditionCounts:
    """The "Conditions" line, of the digest's initiatives: open ones (what waits on people, bot.services.waiting),
    those of them past 17:00 in their owner's zone on their due date, and those met during the week."""
    items = open_items(session, team_id=audience.team_id, catalog=data.catalog, audience=audience)
    still_open = [item for item in items if item.kind == CONDITION and item.initiative_id in data.initiatives]
    calendar = work_calendar(session, team_id=audience.team_id, default_zone=default_zone,
                             people={item.owner for item in still_open})
    met = met_between(session, team_id=audience.team_id, kind=CONDITION, start=window.start, end=window.end)
    return ConditionCounts(
        open=len(still_open),
        overdue=sum(1 for item in still_open
                    if window.end > due_instant(calendar, owner=item.owner, due_on=item.due_on)),
        met=sum(1 for initiative_id in met if initiative_id in data.initiatives))


def delivery_failures(session: Session, *, team_id: str, window: Window) -> list[DeliveryFailure]:
    """Outbox messages Slack refused for good during the week (platform's query), newest first."""
    return [
        DeliveryFailure(method=message.method, channel=str(message.payload.get("channel") or ""),
                        error=describe_error(message.last_error), at=message.failed_at)
        for message in failed_messages(session, team_id=team_id, since=window.start, limit=FAILURES_LISTED)
        if message.failed_at is not None and message.failed_at <= window.end
    ]
