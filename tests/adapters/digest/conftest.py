"""Digest posting fixtures: a Slack emulator, a runtime pointed at it, and one digest to #digest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.delivery.sender import make_client
from bot.runtime import Runtime
from bot.services.digest.definitions import add_digest
from slack_emulator import SlackEmulator
from tests.support.factories import actor
from tests.support.slack_app import slack_settings

DIGEST_CHANNEL = "C0DIGEST"


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator() as running:
        running.add_channel(DIGEST_CHANNEL, "digest")
        running.add_user("UADMIN", "ada")
        yield running


@pytest.fixture
def slack_runtime(runtime: Runtime, emulator: SlackEmulator) -> Runtime:
    return Runtime(settings=slack_settings(runtime.settings, emulator), engine=runtime.engine,
                   event_handlers=runtime.event_handlers)


@pytest.fixture
def client(slack_runtime: Runtime):  # type: ignore[no-untyped-def]
    return make_client(slack_runtime.settings)


@pytest.fixture
def digest_id(slack_runtime: Runtime) -> int:
    """`weekly`: Monday 09:00 Europe/Berlin, to #digest."""
    with slack_runtime.transaction() as session:
        digest = add_digest(session, actor=actor("UADMIN", admin=True), name="weekly", channel_id=DIGEST_CHANNEL,
                            cron="0 9 * * 1", timezone="Europe/Berlin")
        return digest.id
