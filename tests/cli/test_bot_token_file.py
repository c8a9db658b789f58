"""SLACK_BOT_TOKEN_FILE: the bot token read from a file (a mounted secret), and read again when the file changes, so
that after a reinstall that issued a new token the running bot resumes delivery without a restart."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.config import SettingsError, load_settings
from bot.delivery.outbox import enqueue
from bot.jobs import scheduler
from bot.runtime import Runtime
from bot.services.gates.workspaces import ensure_workspace
from slack_emulator import SlackEmulator
from slack_emulator.calls import RecordedCall
from slack_emulator.requests import event_body, post_signed
from storage.models import AuditEvent, OutboxMessage, Workspace
from tests.support.serving import bot_env, serving
from tests.support.slack_app import SIGNING_SECRET

FIRST_TOKEN = "xoxb-1111-first-install"
NEW_TOKEN = "xoxb-2222-issued-by-the-reinstall"


def write_token(path: Path, token: str) -> None:
    """As an operator (or Kubernetes) replaces a secret: a whole new file renamed over the old one."""
    written = path.with_name(path.name + ".new")
    written.write_text(f"{token}\n")
    os.replace(written, path)


def bearer(call: RecordedCall) -> str:
    return next(v for k, v in call.headers.items() if k.lower() == "authorization").removeprefix("Bearer ")


def wait_until(condition: Callable[[], object], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def suspended_reason(runtime: Runtime, team_id: str) -> str | None:
    with runtime.read() as session:
        workspace = session.get(Workspace, team_id)
        return workspace.suspended_reason if workspace else None


def test_a_new_token_written_to_the_file_resumes_delivery_in_the_running_bot_without_a_restart(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    token_file = tmp_path / "slack-bot-token"
    write_token(token_file, FIRST_TOKEN)
    with SlackEmulator(bot_token=FIRST_TOKEN) as emulator:
        team = emulator.team_id
        with runtime.transaction() as session:
            ensure_workspace(session, team_id=team)
        env = bot_env(database_url, emulator, SLACK_BOT_TOKEN_FILE=str(token_file))
        del env["SLACK_BOT_TOKEN"]
        with serving(env, tmp_path, "--workers", "1") as bot:
            # The token is revoked, and Slack says so.
            emulator.revoke_token()
            revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [emulator.bot_user_id]}}
            assert post_signed(bot.url + "/slack/events", event_body(revoked, event_id="EvRevoked"),
                               SIGNING_SECRET).status_code == 200
            wait_until(lambda: suspended_reason(runtime, team) == "tokens_revoked")
            with runtime.transaction() as session:
                enqueue(session, team_id=team, method="chat.postMessage", payload={"channel": "U0001", "text": "hi"})
            time.sleep(2.5)  # the bot's sender looks every second: the message waits for the reinstall
            assert emulator.calls_to("chat.postMessage") == []

            # Reinstalled: Slack issued a new token, which the operator writes to the file. No restart.
            emulator.reinstall(bot_token=NEW_TOKEN)
            write_token(token_file, NEW_TOKEN)
            with_file = runtime.settings.model_copy(update={"slack_api_url": emulator.base_url,
                                                            "slack_bot_token_file": token_file})
            check = scheduler.build(replace(runtime, settings=with_file)).get_job("reinstall_check")
            assert check is not None
            assert check.func(*check.args) == team  # the job, as the scheduler runs it every few minutes

            wait_until(lambda: any(call.ok for call in emulator.calls_to("chat.postMessage")))
            log = bot.log
            assert bot.terminate() == 0

    [posted] = emulator.calls_to("chat.postMessage")
    assert bearer(posted) == NEW_TOKEN and posted.params["text"] == "hi"
    [asked] = emulator.calls_to("auth.test")[-1:]
    assert bearer(asked) == NEW_TOKEN and asked.ok
    with runtime.read() as session:
        assert session.exec(select(OutboxMessage.state)).all() == ["sent"]
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.subject_type == "workspace")).all()
    assert actions == ["workspace.suspended", "workspace.reinstalled"]
    assert "SLACK_BOT_TOKEN_FILE changed" in log  # the bot says it took the new token...
    assert NEW_TOKEN not in log and FIRST_TOKEN not in log  # ...and never shows it


def test_the_bot_starts_with_the_token_from_the_file_whitespace_stripped(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    token_file = tmp_path / "slack-bot-token"
    token_file.write_text(f"  {FIRST_TOKEN}\r\n")
    with SlackEmulator(bot_token=FIRST_TOKEN) as emulator:
        env = bot_env(database_url, emulator, SLACK_BOT_TOKEN_FILE=str(token_file))
        del env["SLACK_BOT_TOKEN"]
        with serving(env, tmp_path) as bot:
            assert httpx.get(bot.url + "/healthz").status_code == 200
            assert bot.terminate() == 0
    assert emulator.calls_to("auth.test") and all(bearer(c) == FIRST_TOKEN for c in emulator.calls_to("auth.test"))


# ---- the settings --------------------------------------------------------------------------------------------


def test_both_token_settings_at_once_are_refused_in_one_line(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(FIRST_TOKEN)

    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, slack_bot_token=FIRST_TOKEN, slack_bot_token_file=token_file)

    assert str(refused.value) == "SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE are both set: expected only one of them"


@pytest.mark.parametrize(("content", "message"), [
    (None, "SLACK_BOT_TOKEN_FILE cannot be read ({path}): No such file or directory"),
    ("\n", "SLACK_BOT_TOKEN_FILE is invalid: the file is empty; expected the bot token from OAuth & Permissions"),
    ("xapp-1-an-app-level-token", "SLACK_BOT_TOKEN_FILE is invalid: expected a token starting with xoxb-"),
])
def test_a_token_file_that_holds_no_bot_token_is_refused_in_one_line(
    tmp_path: Path, content: str | None, message: str
) -> None:
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)

    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, slack_bot_token_file=token_file).require_slack()

    assert str(refused.value) == message.format(path=token_file)


def test_a_file_caught_mid_write_keeps_the_last_good_token_and_says_so_without_showing_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token_file = tmp_path / "token"
    write_token(token_file, FIRST_TOKEN)
    token = load_settings(_env_file=None, slack_bot_token_file=token_file).bot_token()
    caplog.set_level(logging.INFO, logger="bot.config")

    write_token(token_file, "")  # truncated, the new token not written yet
    assert token.current() == FIRST_TOKEN
    write_token(token_file, "not-a-bot-token-but-a-secret")
    assert token.current() == FIRST_TOKEN and token.current() == FIRST_TOKEN
    write_token(token_file, NEW_TOKEN)
    assert token.current() == NEW_TOKEN

    said = [record.getMessage() for record in caplog.records]
    assert len(said) == 2, said  # the wrong content once, the new token once; nothing for the empty moment
    assert "holds no bot token" in said[0] and "use the new bot token" in said[1]
    assert not any("not-a-bot-token" in line or NEW_TOKEN in line for line in said)
