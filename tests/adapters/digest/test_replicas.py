"""Two scheduler replicas, as separate OS processes started together, post one digest and one chart."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.adapters.digest import digest_tick
from bot.delivery.sender import deliver_pending
from storage.models import DigestRun, OutboxMessage
from tests.adapters.digest import workers
from tests.adapters.digest.conftest import DIGEST_CHANNEL
from tests.adapters.digest.test_posting import MONDAY_0905_BERLIN
from tests.support.processes import race


def test_two_schedulers_post_the_week_exactly_once(slack_runtime, emulator, digest_id, database_url):
    args = (database_url, emulator.base_url, MONDAY_0905_BERLIN.isoformat())
    outcomes = race(workers.scheduler_replica, [args] * 2)

    started = sorted(len(detail[0]) for _, detail in outcomes)
    assert started == [0, 1]  # one replica started the week's run, the other found it taken
    assert [m["channel"] for m in emulator.messages()] == [DIGEST_CHANNEL]
    assert len(emulator.calls_to("chat.postMessage")) == 1
    assert len(emulator.calls_to("files.completeUploadExternal")) == 1
    with slack_runtime.transaction() as session:
        assert len(session.exec(select(DigestRun)).all()) == 1
        assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_two_schedulers_retry_a_refused_week_exactly_once(slack_runtime, client, emulator, digest_id, database_url):
    emulator.add_channel(DIGEST_CHANNEL, "digest", is_member=False)
    digest_tick(slack_runtime, client, now=MONDAY_0905_BERLIN)
    deliver_pending(slack_runtime, client)
    digest_tick(slack_runtime, client, now=MONDAY_0905_BERLIN)  # records the refusal: retry on the next tick
    emulator.add_channel(DIGEST_CHANNEL, "digest")  # the bot is invited

    next_tick = MONDAY_0905_BERLIN + timedelta(minutes=1)
    race(workers.scheduler_replica, [(database_url, emulator.base_url, next_tick.isoformat())] * 2)

    assert [m["channel"] for m in emulator.messages(DIGEST_CHANNEL)] == [DIGEST_CHANNEL]
    posted = [c for c in emulator.calls_to("chat.postMessage") if c.params["channel"] == DIGEST_CHANNEL and c.ok]
    assert len(posted) == 1
    assert len(emulator.calls_to("files.completeUploadExternal")) == 1
    with slack_runtime.transaction() as session:
        [run] = session.exec(select(DigestRun)).all()
        assert (run.state, run.text_attempts) == ("posted", 2)
