"""Two scheduler replicas, as separate OS processes started together, post one digest and one chart."""

from __future__ import annotations

from sqlmodel import select

from storage.models import DigestRun, OutboxMessage
from tests.services.digest import workers
from tests.services.digest.conftest import DIGEST_CHANNEL
from tests.services.digest.test_posting import MONDAY_0905_BERLIN
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
