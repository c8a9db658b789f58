"""The outbox delivered to the Slack emulator: retries, Retry-After, permanent errors, updates after posts.

"Later" is passed to the sender as `now=` instead of sleeping; the emulator sees real HTTP calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli import main
from bot.delivery.installation import unsuspend
from bot.delivery.messages import live_message, post_message, update_message
from bot.delivery.outbox import enqueue, failed_messages
from bot.delivery.sender import RetryPolicy, deliver_pending, make_client
from bot.runtime import Runtime
from bot.services.gates.workspaces import ensure_workspace
from slack_emulator import SlackEmulator
from storage.models import Workspace
from storage.models.outbox import OutboxMessage
from storage.types import utcnow
from tests.support.slack_app import deliver_outbox

TEAM = "T0001"


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator(team_id=TEAM) as emulator:
        emulator.add_user("U0001", "alice")
        emulator.add_user("U0002", "bob")
        emulator.add_channel("C0001", "ai-initiatives")
        emulator.add_channel("C0ARCH", "old-project", is_archived=True)
        emulator.add_channel("C0OUT", "private-team", is_member=False)
        yield emulator


def post(runtime: Runtime, text: str, channel: str = "U0001", **options: object) -> int:
    with runtime.transaction() as session:
        message = enqueue(
            session, team_id=TEAM, method="chat.postMessage", payload={"channel": channel, "text": text}, **options
        )
        return message.id  # type: ignore[return-value]


def rows(runtime: Runtime) -> dict[int, OutboxMessage]:
    with runtime.transaction() as session:
        return {m.id: m for m in session.exec(select(OutboxMessage))}  # type: ignore[misc]


def later(seconds: float):  # type: ignore[no-untyped-def]
    return lambda: utcnow() + timedelta(seconds=seconds)


def test_a_dm_is_delivered_and_its_channel_and_ts_kept(runtime: Runtime, emulator: SlackEmulator) -> None:
    message_id = post(runtime, "Please review AI-1")

    report = deliver_outbox(runtime, emulator)

    assert report.sent == 1
    [shown] = emulator.messages()
    assert shown["text"] == "Please review AI-1" and shown["channel"] == emulator.dm_channel("U0001")
    row = rows(runtime)[message_id]
    assert row.state == "sent"
    assert row.result == {"channel": shown["channel"], "ts": shown["ts"]}


def test_an_update_waits_for_its_post_then_edits_it_in_place(runtime: Runtime, emulator: SlackEmulator) -> None:
    emulator.inject("chat.postMessage", status=500)
    with runtime.transaction() as session:
        original = post_message(session, team_id=TEAM, kind="test", subject=1,
                                payload={"channel": "U0001", "text": "Approve?"})
        update_message(session, original, payload={"text": "Approved"})

    deliver_outbox(runtime, emulator)
    assert emulator.calls_to("chat.update") == []  # the post failed, so the update must not go first

    deliver_outbox(runtime, emulator, now=later(60))

    [shown] = emulator.messages()
    assert shown["text"] == "Approved" and shown["channel"].startswith("D")
    assert [row.state for row in rows(runtime).values()] == ["sent", "sent"]
    with runtime.transaction() as session:
        registered = live_message(session, team_id=TEAM, kind="test", subject=1)
    assert registered is not None
    assert (registered.state, registered.channel, registered.ts) == ("posted", shown["channel"], shown["ts"])


def test_updates_of_one_message_apply_in_the_order_they_were_made_even_when_one_is_retried(
    runtime: Runtime, emulator: SlackEmulator
) -> None:
    with runtime.transaction() as session:
        original = post_message(session, team_id=TEAM, kind="test", subject=1,
                                payload={"channel": "U0001", "text": "Approve?"})
        for text in ("Approve? (evidence link broken)", "Approved by @bob"):
            update_message(session, original, payload={"text": text})
    emulator.inject("chat.update", status=500)  # the first update fails for a while

    deliver_outbox(runtime, emulator)
    assert len(emulator.calls_to("chat.update")) == 1  # the later update waits for the retry of the earlier one

    deliver_outbox(runtime, emulator, now=later(3600))

    [shown] = emulator.messages()
    assert shown["text"] == "Approved by @bob"
    assert [call.ok for call in emulator.calls_to("chat.update")] == [False, True, True]


def test_retry_after_holds_back_that_method_in_that_workspace_for_every_sender(
    runtime: Runtime, emulator: SlackEmulator
) -> None:
    emulator.inject("chat.postMessage", retry_after=30)
    first, second = post(runtime, "one"), post(runtime, "two")
    with runtime.transaction() as session:
        home = enqueue(session, team_id=TEAM, method="views.publish", payload=_home("U0002")).id

    deliver_outbox(runtime, emulator)
    # Each call makes a new sender; the block is in the database, as another replica would see it.
    deliver_outbox(runtime, emulator, now=later(10))

    assert len(emulator.calls_to("chat.postMessage")) == 1  # the 429; nothing else until Retry-After passed
    assert rows(runtime)[home].state == "sent"  # another method is not held back
    assert {rows(runtime)[i].state for i in (first, second)} == {"pending"}

    deliver_outbox(runtime, emulator, now=later(31))

    assert [m["text"] for m in emulator.messages()] == ["one", "two"]
    assert rows(runtime)[first].attempts == 0  # a 429 is not a failed attempt


def test_server_errors_and_timeouts_are_retried_with_growing_backoff(runtime: Runtime, emulator: SlackEmulator) -> None:
    policy = RetryPolicy(base_delay=10, request_timeout=1)
    emulator.inject("chat.postMessage", status=503)
    emulator.inject("chat.postMessage", delay=2)  # longer than the client's timeout
    message_id = post(runtime, "Gate passed")

    deliver_outbox(runtime, emulator, policy=policy)
    after_503 = rows(runtime)[message_id]
    deliver_outbox(runtime, emulator, policy=policy, now=later(10))
    after_timeout = rows(runtime)[message_id]

    assert after_503.state == after_timeout.state == "pending"
    assert after_503.last_error == "HTTP 503" and after_timeout.last_error.startswith("network")
    assert (after_503.next_attempt_at - after_503.created_at).total_seconds() >= 5  # 10 s, half of it at least
    assert after_timeout.next_attempt_at > after_503.next_attempt_at + timedelta(seconds=10)

    deliver_outbox(runtime, emulator, policy=policy, now=later(3600))

    assert rows(runtime)[message_id].state == "sent"
    # The timed-out call reached Slack anyway (as it can): the one ambiguous message may show twice.
    assert [m["text"] for m in emulator.messages()] in (["Gate passed"], ["Gate passed", "Gate passed"])


def test_a_message_that_keeps_failing_gives_up_after_the_last_attempt(
    runtime: Runtime, emulator: SlackEmulator
) -> None:
    emulator.inject("chat.postMessage", status=500, times=3)
    message_id = post(runtime, "hello")

    for minutes in range(3):
        deliver_outbox(runtime, emulator, policy=RetryPolicy(max_attempts=3), now=later(minutes * 3600))

    row = rows(runtime)[message_id]
    assert row.state == "failed" and row.last_error == "gave up after 3 attempts: HTTP 500"


@pytest.mark.parametrize(
    ("error", "channel", "extra"),
    [
        ("channel_not_found", "C404", {}),
        ("is_archived", "C0ARCH", {}),
        ("not_in_channel", "C0OUT", {}),
        ("invalid_blocks", "C0001", {"blocks": [{"type": "divider"}] * 51}),
    ],
)
def test_permanent_errors_fail_at_once_and_are_never_retried(
    runtime: Runtime, emulator: SlackEmulator, error: str, channel: str, extra: dict
) -> None:
    with runtime.transaction() as session:
        payload = {"channel": channel, "text": "Gate passed"} | extra
        message_id = enqueue(session, team_id=TEAM, method="chat.postMessage", payload=payload).id

    deliver_outbox(runtime, emulator)
    deliver_outbox(runtime, emulator, now=later(86400))

    assert [call.error for call in emulator.calls_to("chat.postMessage")] == [error]
    with runtime.transaction() as session:
        [failed] = failed_messages(session, team_id=TEAM)
    assert failed.id == message_id and failed.last_error == error


@pytest.mark.parametrize("error", ["account_inactive", "invalid_auth", "token_revoked"])
def test_a_token_that_stopped_working_holds_the_workspace_messages_for_the_reinstall(
    runtime: Runtime, emulator: SlackEmulator, error: str
) -> None:
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=TEAM)
    emulator.deactivate_token(error)
    with runtime.transaction() as session:
        message = post_message(session, team_id=TEAM, kind="test", subject=1,
                               payload={"channel": "U0001", "text": "Approve?"})
        update = update_message(session, message, payload={"text": "x"})
        assert update is not None and update.depends_on is not None
    post(runtime, "news")

    report = deliver_outbox(runtime, emulator)
    deliver_outbox(runtime, emulator, now=later(86400))

    assert (report.held, report.failed) == (1, 0)
    assert [call.error for call in emulator.calls] == [error]  # one call, then none for this workspace
    assert {m.state for m in rows(runtime).values()} == {"pending"}
    with runtime.transaction() as session:
        workspace = session.get(Workspace, TEAM)
        assert workspace is not None and workspace.suspended_reason == error

    emulator.reinstall()
    with runtime.transaction() as session:
        assert unsuspend(session, team_id=TEAM, now=utcnow()) is not None
    deliver_outbox(runtime, emulator)

    assert {m.state for m in rows(runtime).values()} == {"sent"}
    assert [m["text"] for m in emulator.messages(emulator.dm_channel("U0001"))] == ["x", "news"]


def test_a_refusal_of_the_token_replaced_while_the_call_was_on_its_way_is_retried_with_the_new_one(
    runtime: Runtime, emulator: SlackEmulator, tmp_path: Path
) -> None:
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=TEAM)
    token_file = tmp_path / "slack-bot-token"
    token_file.write_text(emulator.bot_token)
    settings = runtime.settings.model_copy(update={"slack_api_url": emulator.base_url,
                                                   "slack_bot_token_file": token_file})
    client = make_client(settings)
    post(runtime, "Approve?")
    emulator.inject("chat.postMessage", delay=1)  # answered after the reinstall below

    sending = threading.Thread(target=deliver_pending, args=(runtime, client))
    sending.start()
    while not emulator.calls_to("chat.postMessage"):
        time.sleep(0.01)
    emulator.reinstall(bot_token="xoxb-issued-by-the-reinstall")  # the old token is refused from now on
    token_file.write_text("xoxb-issued-by-the-reinstall")
    sending.join()
    deliver_pending(runtime, client, now=later(3600))

    assert [(call.error, call.headers["Authorization"]) for call in emulator.calls_to("chat.postMessage")] == [
        ("token_revoked", "Bearer xoxb-test"), (None, "Bearer xoxb-issued-by-the-reinstall")]
    assert [m.state for m in rows(runtime).values()] == ["sent"]
    with runtime.transaction() as session:
        workspace = session.get(Workspace, TEAM)
        assert workspace is not None and workspace.suspended_at is None  # never waited for a reinstall


def test_admins_see_failed_deliveries_with_the_reason_in_words(
    runtime: Runtime, emulator: SlackEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    post(runtime, "to nowhere", channel="C404")
    post(runtime, "fine")
    deliver_outbox(runtime, emulator)

    assert main(["outbox", "--failed"]) == 0

    out = capsys.readouterr().out
    assert "pending: 0  sent: 1  failed: 1" in out
    assert "chat.postMessage C404: channel_not_found (the channel does not exist or the bot cannot see it)" in out
    assert "fine" not in out and out.count("#") == 1


def test_a_dedupe_key_enqueues_once_per_workspace(runtime: Runtime, emulator: SlackEmulator) -> None:
    first = post(runtime, "Your review is due", dedupe_key="nudge:42:2026-11-27")
    again = post(runtime, "Your review is due", dedupe_key="nudge:42:2026-11-27")

    deliver_outbox(runtime, emulator)

    assert first == again
    assert [m["text"] for m in emulator.messages()] == ["Your review is due"]


def _home(user_id: str) -> dict:
    return {"user_id": user_id, "view": {"type": "home", "blocks": [{"type": "divider"}]}}
