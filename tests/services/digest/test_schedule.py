"""Week boundaries and due times in zones other than UTC (pure functions, real zoneinfo)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.digest.schedule import cron_trigger, due_time, iso_week, window_ending
from bot.services.errors import InvalidInput

AUCKLAND = ZoneInfo("Pacific/Auckland")
BERLIN = ZoneInfo("Europe/Berlin")


def test_monday_morning_in_auckland_is_sunday_evening_utc_and_belongs_to_auckland_s_week():
    # Mon 23 Nov 2026 09:00 NZDT (UTC+13) is Sun 22 Nov 20:00 UTC, still ISO week 47 in UTC.
    before = datetime(2026, 11, 22, 19, 59, tzinfo=UTC)
    at = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
    assert due_time("0 9 * * 1", AUCKLAND, before) is None
    assert due_time("0 9 * * 1", AUCKLAND, at) == at
    assert iso_week(at, AUCKLAND) == "2026-W48"
    assert iso_week(at, ZoneInfo("UTC")) == "2026-W47"


def test_missed_time_stays_due_until_the_local_week_ends():
    scheduled = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
    sunday_night_local = datetime(2026, 11, 29, 10, 59, tzinfo=UTC)  # Sun 29 Nov 23:59 NZDT
    assert due_time("0 9 * * 1", AUCKLAND, sunday_night_local) == scheduled
    next_week = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)  # Mon 30 Nov 00:00 NZDT: a new week, not yet 09:00
    assert due_time("0 9 * * 1", AUCKLAND, next_week) is None


def test_the_week_is_seven_local_days_across_a_dst_change():
    # Berlin leaves summer time on Sun 25 Oct 2026: Mon 26 Oct 09:00 CET minus 7 local days is 09:00 CEST.
    as_of = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    window = window_ending(as_of, BERLIN)
    assert window.start == datetime(2026, 10, 19, 7, 0, tzinfo=UTC)
    assert window.end - window.start == timedelta(hours=169)
    assert window.week == "2026-W44"


def test_cron_weekdays_count_from_sunday_as_in_crontab():
    after = datetime(2026, 11, 21, 23, 0, tzinfo=UTC)  # Sun 22 Nov 00:00 Berlin
    fires = {cron: cron_trigger(cron, BERLIN).get_next_fire_time(None, after).astimezone(BERLIN).strftime("%a %H:%M")
             for cron in ("0 9 * * 1", "30 8 * * 0", "0 17 * * 5", "0 9 * * 7", "0 9 * * 1-5")}
    assert fires == {"0 9 * * 1": "Mon 09:00", "30 8 * * 0": "Sun 08:30", "0 17 * * 5": "Fri 17:00",
                     "0 9 * * 7": "Sun 09:00", "0 9 * * 1-5": "Mon 09:00"}


@pytest.mark.parametrize("cron", ["0 9 * *", "0 9 * * 8", "sixty 9 * * 1"])
def test_a_bad_cron_is_one_clear_sentence(cron):
    with pytest.raises(InvalidInput, match=r"is not a cron expression; Monday 09:00 is `0 9 \* \* 1`\."):
        cron_trigger(cron, BERLIN)
