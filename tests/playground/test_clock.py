"""The page's controls run the scheduled jobs on the playground's clock, so reminders show in minutes."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.slow  # the whole bot and its emulator: a few seconds


def wait_for(condition, timeout: float = 20):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.1)
    return found


@pytest.mark.parametrize("playground", [False], indirect=True, ids=["empty"])
def test_moving_on_to_the_next_mornings_sends_the_owners_their_reminders(playground):
    playground.api("/api/command", {"user": "U0MARIA", "channel": "C0GENERAL",
                                    "text": "new Fraud alerts business=<@U0MARIA> data=<@U0DEV> eng=<@U0ENG> risk=low"})
    playground.api("/api/command", {"user": "U0MARIA", "channel": "C0GENERAL", "text": "submit AI-1"})
    wait_for(lambda: _dms(playground, "U0DEV", "Sign-off requested"))

    said = [playground.api("/api/jobs", {"user": "U0ADMIN", "job": "morning"})["said"] for _ in range(3)]

    assert any(not line.endswith(": 0 reminder(s) sent.") for line in said), said
    assert wait_for(lambda: _dms(playground, "U0DEV", "Reminder:"))
    assert _dms(playground, "U0OLLY", "Reminder:") == []  # the outsider owns nothing and is told nothing


def _dms(playground, user: str, text: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [m for m in playground.stack.view_of(user)["messages"] if m["channel"] == "dm" and text in m["text"]]
