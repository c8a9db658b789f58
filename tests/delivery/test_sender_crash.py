"""A sender killed with SIGKILL in the middle of a batch, then restarted: nothing is lost, and at most the
message that was in flight (Slack had posted it, the `sent` commit never happened) is posted twice."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter

from sqlmodel import select

from bot.delivery.outbox import enqueue
from bot.runtime import Runtime
from slack_emulator import SlackEmulator
from storage.models import OutboxMessage
from tests.support.serving import REPO, bot_env

MESSAGES = 20
CLAIM_SECONDS = "2"  # how long a dead sender's claim holds its message back


def start_sender(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.delivery.sender_process", CLAIM_SECONDS]
    return subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_a_killed_sender_loses_nothing_and_duplicates_at_most_the_message_in_flight(
    runtime: Runtime, database_url: str, slack_emulator: SlackEmulator
) -> None:
    slack_emulator.add_user("U0001", "alice")
    with runtime.transaction() as session:
        for n in range(MESSAGES):
            enqueue(session, team_id="T0001", method="chat.postMessage", payload={"channel": "U0001", "text": f"m{n}"})
    slack_emulator.inject("chat.postMessage", delay=0.05, times=5)
    slack_emulator.inject("chat.postMessage", delay=3)  # the sixth call is in flight when the sender dies
    env = bot_env(database_url, slack_emulator)

    first = start_sender(env)
    deadline = time.monotonic() + 30
    while not [c for c in slack_emulator.calls_to("chat.postMessage")[5:] if c.status == 0]:
        assert first.poll() is None and time.monotonic() < deadline, "the sender never reached the sixth message"
        time.sleep(0.01)
    first.kill()
    first.wait(10)

    second = start_sender(env)
    assert second.wait(60) == 0, second.stderr.read().decode() if second.stderr else ""

    posted = Counter(message["text"] for message in slack_emulator.messages())
    assert set(posted) == {f"m{n}" for n in range(MESSAGES)}  # nothing lost
    assert [text for text, times in posted.items() if times > 1] in ([], ["m5"])  # only the in-flight one
    with runtime.transaction() as session:
        assert {row.state for row in session.exec(select(OutboxMessage))} == {"sent"}
