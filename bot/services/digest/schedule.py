"""When a digest is due, which ISO week a run belongs to, and the window it reports. Pure: no clock, no DB.

A digest posts once per ISO week in its own zone: at the first time its cron fires in that week. If the bot
was down then, it is still due for the rest of that week (catch-up), and never again once a run exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from bot.services.errors import InvalidInput

DAYS_IN_WEEK = 7
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMBER = re.compile(r"(?<![/\d])\d+")  # a weekday number, not the step in `*/2`


@dataclass(frozen=True)
class Window:
    """What one digest reports: `as_of` (the moment described) and the 7 local days before it."""

    start: datetime
    end: datetime
    week: str  # ISO week of `end` in the zone, e.g. 2026-W48
    zone: ZoneInfo


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"'{name}' is not a time zone; use an IANA name such as Europe/Berlin.") from None


def cron_trigger(cron: str, zone: ZoneInfo) -> CronTrigger:
    """Standard crontab fields. APScheduler 3 counts weekdays from Monday = 0, crontab from Sunday = 0 (and 7), so
    weekday numbers are turned into names first: `0 9 * * 1` is Monday 09:00, as everywhere else."""
    fields = cron.split()
    try:
        if len(fields) != 5:
            raise ValueError(cron)
        minute, hour, day, month, weekdays = fields
        weekdays = _NUMBER.sub(lambda m: _WEEKDAYS[_weekday_number(m.group(0))], weekdays)
        return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=weekdays, timezone=zone)
    except (ValueError, IndexError):
        raise InvalidInput(f"'{cron}' is not a cron expression; Monday 09:00 is `0 9 * * 1`.") from None


def weekly_cron(cron: str, zone: ZoneInfo) -> str:
    """A digest's cron, with single spaces: valid, and firing in every ISO week (so no day-of-month or month),
    since a digest posts once a week at the first time its cron fires."""
    cron = " ".join(cron.split())
    cron_trigger(cron, zone)
    if cron.split()[2:4] != ["*", "*"]:
        raise InvalidInput(f"'{cron}' does not fire every week; keep the day-of-month and month fields `*`, "
                           f"as in `0 9 * * 1`.")
    return cron


def _weekday_number(text: str) -> int:
    if int(text) > DAYS_IN_WEEK:
        raise ValueError(text)
    return int(text) % DAYS_IN_WEEK


def iso_week(moment: datetime, zone: ZoneInfo) -> str:
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def week_start(moment: datetime, zone: ZoneInfo) -> datetime:
    """Monday 00:00 local of the ISO week holding `moment`."""
    local = moment.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, time(0), tzinfo=zone)


def scheduled_in_week(cron: str, zone: ZoneInfo, moment: datetime) -> datetime | None:
    """The first time the cron fires in the ISO week (local) holding `moment`, or None if it never does."""
    start = week_start(moment, zone)
    trigger = cron_trigger(cron, zone)
    first = trigger.get_next_fire_time(None, start)
    if first is None or first >= start + timedelta(days=DAYS_IN_WEEK):
        return None
    return first


def due_time(cron: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """This week's scheduled time if it has come (including a missed one earlier this week), else None."""
    scheduled = scheduled_in_week(cron, zone, now)
    return scheduled if scheduled is not None and scheduled <= now else None


def window_ending(as_of: datetime, zone: ZoneInfo) -> Window:
    """The 7 local calendar days up to `as_of` (so 167 or 169 hours across a DST change)."""
    local = as_of.astimezone(zone)
    start = (local.replace(tzinfo=None) - timedelta(days=DAYS_IN_WEEK)).replace(tzinfo=zone)
    return Window(start=start.astimezone(as_of.tzinfo), end=as_of, week=iso_week(as_of, zone), zone=zone)


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """`--as-of 2026-11-22` means as of the last moment of that day in the digest's zone (so, its ISO week)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone) - timedelta(microseconds=1)
