"""The business-day calendar: Monday to Friday minus a workspace's holidays, in one person's time zone.

Pure functions over dates and aware datetimes. Every wall-clock rule (09:00-17:00, an SLA that ends at 17:00)
is evaluated in the person's zone through zoneinfo, so a DST change moves the UTC instant, never the local
hour, and a local date happens once whatever the clocks do.

Counting starts the next working day: a sign-off requested on a Monday is in its first business day on
Tuesday, and an N-day period ends at 17:00 local on the Nth such day.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

WORKDAY_START = time(9, 0)
WORKDAY_END = time(17, 0)
MONDAY = 0


def is_business_day(day: date, holidays: Collection[date] = ()) -> bool:
    return day.weekday() < 5 and day not in holidays


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def next_business_day(day: date, holidays: Collection[date] = ()) -> date:
    """The first business day strictly after `day`."""
    day += timedelta(days=1)
    while not is_business_day(day, holidays):
        day += timedelta(days=1)
    return day


def nth_business_day_after(day: date, n: int, holidays: Collection[date] = ()) -> date:
    """The nth business day after `day` (n >= 1); `day` itself never counts."""
    for _ in range(max(n, 1)):
        day = next_business_day(day, holidays)
    return day


def business_days_between(start: date, end: date, holidays: Collection[date] = ()) -> int:
    """How many business days lie in (start, end]: 0 when `end` is not after `start`."""
    if end <= start:
        return 0
    total_days = (end - start).days
    full_weeks, rest = divmod(total_days, 7)
    count = full_weeks * 5
    for offset in range(1, rest + 1):
        if (start + timedelta(days=offset)).weekday() < 5:
            count += 1
    return count - sum(1 for h in holidays if start < h <= end and h.weekday() < 5)


def at_local(day: date, wall_clock: time, zone: ZoneInfo) -> datetime:
    """`day` at `wall_clock` in `zone`, as an aware datetime (fold=0: the first of a repeated hour)."""
    return datetime.combine(day, wall_clock, tzinfo=zone)


def sla_deadline(requested_at: datetime, zone: ZoneInfo, sla_business_days: int,
                 holidays: Collection[date] = ()) -> datetime:
    """17:00 local on the last of `sla_business_days` business days counted from the day after the request."""
    return _deadline_on(local_date(requested_at, zone), zone, sla_business_days, frozenset(holidays))


@lru_cache(maxsize=4096)
def _deadline_on(requested: date, zone: ZoneInfo, days: int, holidays: frozenset[date]) -> datetime:
    # A sweep asks this for thousands of sign-offs requested on a handful of days.
    return at_local(nth_business_day_after(requested, days, holidays), WORKDAY_END, zone)


def in_working_hours(moment: datetime, zone: ZoneInfo, holidays: Collection[date] = ()) -> bool:
    """A business day in `zone`, between 09:00 (inclusive) and 17:00 (exclusive) on its wall clock."""
    local = moment.astimezone(zone)
    return is_business_day(local.date(), holidays) and WORKDAY_START <= local.time() < WORKDAY_END


def next_working_morning(moment: datetime, zone: ZoneInfo, holidays: Collection[date] = ()) -> datetime:
    """09:00 local on the next business day after `moment`'s local date."""
    return at_local(next_business_day(local_date(moment, zone), holidays), WORKDAY_START, zone)


def next_monday_morning(moment: datetime, zone: ZoneInfo, holidays: Collection[date] = ()) -> datetime:
    """09:00 local on the next Monday after `moment`'s local date, or the first business day after it."""
    today = local_date(moment, zone)
    monday = today + timedelta(days=(MONDAY - today.weekday()) % 7 or 7)
    if not is_business_day(monday, holidays):
        monday = next_business_day(monday, holidays)
    return at_local(monday, WORKDAY_START, zone)


def end_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    """23:59 local on `day`: when a delegation "until <day>" ends."""
    return at_local(day, time(23, 59), zone)


@dataclass(frozen=True)
class WorkCalendar:
    """Whose clock a sign-off's deadline runs on: its assignee's zone (`default_zone` until Slack has told us
    theirs) and the workspace's holidays. The one rule the DM, the nudges, the digest and `show` share, so that
    a sign-off has one deadline everywhere (`bot.services.reviews.deadlines` loads it)."""

    default_zone: ZoneInfo
    zones: Mapping[str, ZoneInfo] = field(default_factory=dict)  # only the zones Slack has told us
    holidays: frozenset[date] = frozenset()

    def zone(self, user_id: str) -> ZoneInfo:
        return self.zones.get(user_id, self.default_zone)

    def knows_zone(self, user_id: str) -> bool:
        return user_id in self.zones

    def deadline(self, *, assignee: str, requested_at: datetime, sla_business_days: int) -> datetime:
        """The instant a sign-off's SLA ends: 17:00 in its assignee's zone on its last business day."""
        return sla_deadline(requested_at, self.zone(assignee), sla_business_days, self.holidays)

    def business_days_pending(self, *, assignee: str, requested_at: datetime, now: datetime) -> int:
        """Business days a sign-off has waited by `now`, counted in its assignee's zone."""
        zone = self.zone(assignee)
        return business_days_between(local_date(requested_at, zone), local_date(now, zone), self.holidays)


def is_overdue(requested_at: datetime, zone: ZoneInfo, sla_business_days: int, now: datetime,
               holidays: Collection[date] = ()) -> bool:
    """Past its SLA: the digest counts such a sign-off as overdue, and the nudge sweep escalates it."""
    return now > sla_deadline(requested_at, zone, sla_business_days, holidays)
