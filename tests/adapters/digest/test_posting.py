"""Posting through the outbox and the emulator: text first (a long digest going on in replies in its thread),
chart in its thread, each step once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.adapters.digest import digest_tick
from bot.delivery.sender import deliver_pending
from bot.services.digest.definitions import digest_statuses
from bot.views.digest_admin import next_post_text
from storage.models import DigestRun, DigestRunStep
from tests.adapters.digest.conftest import DIGEST_CHANNEL
from tests.services.digest.bulk import insert_portfolio
from tests.support.factories import TEAM

MONDAY_0905_BERLIN = datetime(2026, 11, 23, 8, 5, tzinfo=UTC)


def _run_bot(runtime, client, now):
    """What a running bot does in a minute: a scheduler tick, the outbox sender, another tick."""
    digest_tick(runtime, client, now=now)
    deliver_pending(runtime, client)
    digest_tick(runtime, client, now=now)


def _runs(runtime):
    with runtime.transaction() as session:
        return session.exec(select(DigestRun).order_by(DigestRun.id)).all()


def _steps(runtime):
    with runtime.transaction() as session:
        return [(s.step, s.attempt, s.state) for s in session.exec(select(DigestRunStep).order_by(DigestRunStep.id))]


def test_text_then_chart_in_its_thread_once_per_week(slack_runtime, client, emulator, digest_id):
    _run_bot(slack_runtime, client, MONDAY_0905_BERLIN)
    _run_bot(slack_runtime, client, MONDAY_0905_BERLIN + timedelta(days=2))  # later the same week: nothing new

    posts = emulator.calls_to("chat.postMessage")
    assert len(posts) == 1
    message = emulator.messages(DIGEST_CHANNEL)[0]
    assert "AI portfolio digest · week 2026-W48" in message["text"]
    assert message["blocks"][0]["type"] == "header"
    [chart] = [f for f in emulator.files.values() if f.completed]
    assert (chart.channel_id, chart.thread_ts) == (DIGEST_CHANNEL, message["ts"])
    assert chart.content.startswith(b"\x89PNG")
    assert len(emulator.calls_to("files.completeUploadExternal")) == 1
    [run] = _runs(slack_runtime)
    assert (run.week, run.state, run.chart_state, run.ts) == ("2026-W48", "posted", "uploaded", message["ts"])
    assert _steps(slack_runtime) == [("text", 1, "done"), ("upload_url", 1, "done"), ("upload", 1, "done"),
                                     ("complete", 1, "done")]


def test_nothing_before_the_scheduled_time(slack_runtime, client, emulator, digest_id):
    _run_bot(slack_runtime, client, MONDAY_0905_BERLIN - timedelta(minutes=10))  # 08:55 Berlin
    assert emulator.calls_to("chat.postMessage") == []
    assert _runs(slack_runtime) == []


def test_catch_up_after_downtime_posts_once_that_week_and_never_for_a_missed_week(
        slack_runtime, client, emulator, digest_id):
    wednesday = MONDAY_0905_BERLIN + timedelta(days=2)
    _run_bot(slack_runtime, client, wednesday)  # the bot was down on Monday morning
    _run_bot(slack_runtime, client, wednesday + timedelta(hours=1))
    [run] = _runs(slack_runtime)
    assert run.week == "2026-W48"
    assert run.as_of == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # reports as of its scheduled time
    assert len(emulator.calls_to("chat.postMessage")) == 1

    # Down for the whole of the next week: W49 is never posted late, W50 posts on its Monday.
    _run_bot(slack_runtime, client, MONDAY_0905_BERLIN + timedelta(days=14))
    assert [r.week for r in _runs(slack_runtime)] == ["2026-W48", "2026-W50"]
    assert len(emulator.calls_to("chat.postMessage")) == 2


def test_upload_failure_leaves_the_text_and_never_posts_twice(slack_runtime, client, emulator, digest_id):
    emulator.inject("files.getUploadURLExternal", error="internal_error", times=3)
    for minute in range(5):  # the chart is tried on three ticks, then given up
        _run_bot(slack_runtime, client, MONDAY_0905_BERLIN + timedelta(minutes=minute))

    assert len(emulator.calls_to("chat.postMessage")) == 1
    assert len(emulator.messages(DIGEST_CHANNEL)) == 1
    assert len(emulator.calls_to("files.getUploadURLExternal")) == 3
    assert emulator.calls_to("files.completeUploadExternal") == []
    [run] = _runs(slack_runtime)
    assert (run.state, run.chart_state, run.chart_attempts) == ("posted", "failed", 3)
    assert "internal_error" in run.last_error


def test_a_failed_complete_step_is_never_repeated(slack_runtime, client, emulator, digest_id):
    emulator.inject("files.completeUploadExternal", error="internal_error")
    for minute in range(3):
        _run_bot(slack_runtime, client, MONDAY_0905_BERLIN + timedelta(minutes=minute))

    # Slack may have shared the file before failing: calling complete again could show the chart twice.
    assert len(emulator.calls_to("files.completeUploadExternal")) == 1
    assert len(emulator.calls_to("chat.postMessage")) == 1
    [run] = _runs(slack_runtime)
    assert (run.state, run.chart_state) == ("posted", "failed")


def test_a_retry_after_a_transient_upload_failure_posts_the_chart_once(slack_runtime, client, emulator, digest_id):
    emulator.inject("files.getUploadURLExternal", error="internal_error")
    for minute in range(3):
        _run_bot(slack_runtime, client, MONDAY_0905_BERLIN + timedelta(minutes=minute))

    assert len(emulator.calls_to("chat.postMessage")) == 1
    assert len(emulator.calls_to("files.completeUploadExternal")) == 1
    assert [f.thread_ts for f in emulator.files.values() if f.completed] == [emulator.messages(DIGEST_CHANNEL)[0]["ts"]]
    assert _steps(slack_runtime)[1:] == [("upload_url", 1, "failed"), ("upload_url", 2, "done"), ("upload", 2, "done"),
                                         ("complete", 2, "done")]


def _channel_posts(emulator):
    return [c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == DIGEST_CHANNEL]


def test_a_refused_digest_is_retried_and_posts_once_the_bot_is_invited(slack_runtime, client, emulator, digest_id):
    emulator.add_channel(DIGEST_CHANNEL, "digest", is_member=False)
    _run_bot(slack_runtime, client, MONDAY_0905_BERLIN)
    deliver_pending(slack_runtime, client)  # the admins' DM
    [run] = _runs(slack_runtime)
    assert run.state == "failed" and run.last_error.startswith("not_in_channel")
    [dm] = emulator.messages(emulator.dm_channel("UADMIN"))
    assert "could not be posted to <#C0DIGEST>" in dm["text"] and "`/invite @Initiative Bot`" in dm["text"]
    assert "I try again within the hour until the week ends" in dm["text"]

    _run_bot(slack_runtime, client, MONDAY_0905_BERLIN + timedelta(minutes=1))  # the next tick tries again
    assert len(_channel_posts(emulator)) == 2
    with slack_runtime.transaction() as session:  # what `digest list` tells the admins meanwhile
        [status] = digest_statuses(session, team_id=TEAM, now=MONDAY_0905_BERLIN + timedelta(minutes=1))
    assert next_post_text(status) == ("this week's post was refused (not_in_channel (the bot is not a member of the "
                                      "channel; invite it with /invite)); next try Mon 2026-11-23 09:08 Europe/Berlin")
    _run_bot(slack_runtime, client, MONDAY_0905_BERLIN + timedelta(minutes=2))  # then waits longer each time
    assert len(_channel_posts(emulator)) == 2

    emulator.add_channel(DIGEST_CHANNEL, "digest")  # an admin types /invite @Initiative Bot in #digest
    _run_bot(slack_runtime, client, MONDAY_0905_BERLIN + timedelta(minutes=4))
    [message] = emulator.messages(DIGEST_CHANNEL)
    assert "AI portfolio digest · week 2026-W48" in message["text"]
    assert [f.thread_ts for f in emulator.files.values() if f.completed] == [message["ts"]]
    [run] = _runs(slack_runtime)
    assert (run.state, run.ts, run.text_attempts, run.retry_at) == ("posted", message["ts"], 3, None)
    assert _steps(slack_runtime)[:4] == [("text", 1, "failed"), ("admin_notice", 1, "done"), ("text", 2, "failed"),
                                         ("text", 3, "done")]

    for day in range(1, 4):  # the rest of the week: nothing more
        _run_bot(slack_runtime, client, MONDAY_0905_BERLIN + timedelta(days=day))
        deliver_pending(slack_runtime, client)
    assert len(emulator.messages(DIGEST_CHANNEL)) == 1 and len(_channel_posts(emulator)) == 3
    assert len(emulator.messages(emulator.dm_channel("UADMIN"))) == 1  # one DM for the run, however many tries


def test_retries_stop_when_the_week_ends(slack_runtime, client, emulator, digest_id):
    emulator.add_channel(DIGEST_CHANNEL, "digest", is_member=False)
    _run_bot(slack_runtime, client, MONDAY_0905_BERLIN)
    emulator.add_channel(DIGEST_CHANNEL, "digest")
    next_monday = MONDAY_0905_BERLIN + timedelta(days=7)  # the bot was down for the rest of the week
    _run_bot(slack_runtime, client, next_monday)
    w48, w49 = _runs(slack_runtime)
    assert (w48.week, w48.state, w48.retry_at) == ("2026-W48", "failed", None)  # never posted a week late
    assert (w49.week, w49.state) == ("2026-W49", "posted")
    [message] = emulator.messages(DIGEST_CHANNEL)
    assert "week 2026-W49" in message["text"]


def test_a_digest_longer_than_a_message_goes_on_in_its_thread_once_before_its_chart(slack_runtime, client, emulator,
                                                                                    digest_id):
    with slack_runtime.transaction() as session:  # long enough for more than 50 blocks, every list in full
        insert_portfolio(session, team_id=TEAM, count=450, as_of=MONDAY_0905_BERLIN)
    emulator.add_channel(DIGEST_CHANNEL, "digest", is_member=False)
    _run_bot(slack_runtime, client, MONDAY_0905_BERLIN)
    assert len(_channel_posts(emulator)) == 1  # refused: the rest, queued with it, is never sent on its own
    assert emulator.messages(DIGEST_CHANNEL) == []

    emulator.add_channel(DIGEST_CHANNEL, "digest")  # the bot is invited; the next tick posts the run again
    _run_bot(slack_runtime, client, MONDAY_0905_BERLIN + timedelta(minutes=1))
    _run_bot(slack_runtime, client, MONDAY_0905_BERLIN + timedelta(days=1))  # nothing more that week

    parent, *replies = emulator.messages(DIGEST_CHANNEL)
    assert "thread_ts" not in parent and len(parent["blocks"]) == 50
    assert parent["blocks"][-1]["elements"][0]["text"] == "The digest goes on in this thread (1 more message)."
    [reply] = replies
    assert reply["thread_ts"] == parent["ts"]
    assert reply["text"] == "AI portfolio digest · week 2026-W48, continued (2 of 2)"
    assert 1 < len(reply["blocks"]) <= 50
    assert reply["blocks"][-1]["elements"][0]["text"].startswith("More: `/initiative list`")  # the digest's end
    posts = [c for c in _channel_posts(emulator) if c.ok]
    chart = next(i for i, c in enumerate(emulator.calls) if c.method == "files.completeUploadExternal")
    assert [c.params.get("thread_ts") for c in posts] == [None, parent["ts"]]
    assert emulator.calls.index(posts[-1]) < chart  # the chart follows the digest's own reply
    [uploaded] = [f for f in emulator.files.values() if f.completed]
    assert uploaded.thread_ts == parent["ts"]
    [run] = _runs(slack_runtime)
    assert (run.state, run.ts, run.chart_state) == ("posted", parent["ts"], "uploaded")
