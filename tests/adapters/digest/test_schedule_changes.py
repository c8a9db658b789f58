"""Changing a digest's schedule keeps "once per ISO week": the scheduler uses the new schedule from its next
tick, a week that has its post gets no second one whatever the new zone, and `status_of` says what comes next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.adapters.digest import digest_tick
from bot.delivery.sender import deliver_pending
from bot.services.digest.definitions import add_digest, edit_digest, status_of
from storage.models import Digest, DigestRun
from tests.adapters.digest.conftest import DIGEST_CHANNEL
from tests.support.factories import actor

ADMIN = actor("UADMIN", admin=True)


def _tick(runtime, client, now):
    """A scheduler tick, then the outbox sender, as a running bot does each minute."""
    report = digest_tick(runtime, client, now=now)
    deliver_pending(runtime, client)
    return report.started


def _edit(runtime, **changes):
    with runtime.transaction() as session:
        edit_digest(session, actor=ADMIN, name="weekly", **changes)


def _weeks(runtime):
    with runtime.transaction() as session:
        return [(run.week, run.as_of) for run in session.exec(select(DigestRun).order_by(DigestRun.id))]


def test_a_zone_change_eastwards_never_gives_a_week_two_posts(slack_runtime, client, emulator):
    with slack_runtime.transaction() as session:
        add_digest(session, actor=ADMIN, name="weekly", channel_id=DIGEST_CHANNEL, cron="0 20 * * 0",
                   timezone="America/Los_Angeles")
    # Sun 29 Nov 20:00 in Los Angeles (ISO week 48 there) is Mon 30 Nov 05:00 in Berlin (week 49 there).
    sunday_la = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    assert _tick(slack_runtime, client, sunday_la) == ["weekly 2026-W48"]

    # An hour later the digest moves to Monday 01:00 Berlin: that time has passed in Berlin's week 49, whose
    # label has no run. The week already had its post (at 05:00 Berlin), so it gets no second one.
    _edit(slack_runtime, cron="0 1 * * 1", timezone="Europe/Berlin")
    assert _tick(slack_runtime, client, sunday_la + timedelta(hours=1)) == []
    assert _tick(slack_runtime, client, datetime(2026, 12, 6, 22, 59, tzinfo=UTC)) == []  # Sun 23:59 Berlin
    with slack_runtime.transaction() as session:
        digest = session.exec(select(Digest)).one()
        assert status_of(session, digest, sunday_la + timedelta(hours=1)).next_post == datetime(
            2026, 12, 7, 0, 0, tzinfo=UTC)  # Mon 7 Dec 01:00 Berlin

    assert _tick(slack_runtime, client, datetime(2026, 12, 7, 0, 0, tzinfo=UTC)) == ["weekly 2026-W50"]
    assert [week for week, _ in _weeks(slack_runtime)] == ["2026-W48", "2026-W50"]
    assert len(emulator.calls_to("chat.postMessage")) == 2


def test_a_later_time_in_the_week_after_this_week_s_post_waits_for_next_week(slack_runtime, client, digest_id):
    monday = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Mon 09:00 Berlin
    assert _tick(slack_runtime, client, monday) == ["weekly 2026-W48"]
    _edit(slack_runtime, cron="0 17 * * 5")  # Friday 17:00: the week has its post
    assert _tick(slack_runtime, client, datetime(2026, 11, 27, 16, 0, tzinfo=UTC)) == []
    assert _tick(slack_runtime, client, datetime(2026, 12, 4, 16, 0, tzinfo=UTC)) == ["weekly 2026-W49"]


def test_an_earlier_time_that_has_passed_posts_this_week_at_once(slack_runtime, client):
    with slack_runtime.transaction() as session:
        add_digest(session, actor=ADMIN, name="weekly", channel_id=DIGEST_CHANNEL, cron="0 17 * * 5",
                   timezone="Europe/Berlin")
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert _tick(slack_runtime, client, wednesday) == []  # Friday 17:00 is still to come
    _edit(slack_runtime, cron="0 9 * * 2")  # Tuesday 09:00 has passed, and the week has no post yet
    with slack_runtime.transaction() as session:
        status = status_of(session, session.exec(select(Digest)).one(), wednesday)
    assert (status.next_post, status.due) == (datetime(2026, 11, 24, 8, 0, tzinfo=UTC), True)
    assert _tick(slack_runtime, client, wednesday + timedelta(minutes=1)) == ["weekly 2026-W48"]
    assert _weeks(slack_runtime) == [("2026-W48", datetime(2026, 11, 24, 8, 0, tzinfo=UTC))]  # as of Tuesday


def test_status_before_the_time_due_after_it_and_next_week_once_posted(slack_runtime, client, digest_id):
    monday_0859 = datetime(2026, 11, 23, 7, 59, tzinfo=UTC)
    with slack_runtime.transaction() as session:
        digest = session.get(Digest, digest_id)
        before = status_of(session, digest, monday_0859)
        after = status_of(session, digest, monday_0859 + timedelta(minutes=2))
    assert (before.next_post, before.due) == (datetime(2026, 11, 23, 8, 0, tzinfo=UTC), False)
    assert (after.next_post, after.due) == (datetime(2026, 11, 23, 8, 0, tzinfo=UTC), True)
    _tick(slack_runtime, client, monday_0859 + timedelta(minutes=2))
    with slack_runtime.transaction() as session:
        posted = status_of(session, session.get(Digest, digest_id), monday_0859 + timedelta(minutes=3))
    assert (posted.next_post, posted.due) == (datetime(2026, 11, 30, 8, 0, tzinfo=UTC), False)
