"""DIGEST_CHANNEL is checked when a process that posts starts: `#name` works as well as an ID, and a channel the
bot cannot post to stops `serve`, `socket` and `scheduler` with one line, instead of a failed post a week later."""

from __future__ import annotations

import pytest

from slack_emulator import SlackEmulator
from tests.support.serving import bot_env, free_port, run_cli


@pytest.fixture(autouse=True)
def _no_dotenv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("command", [["serve", "--port", str(free_port())], ["socket"], ["scheduler"]])
def test_a_channel_the_bot_is_not_in_stops_the_start_with_the_fix(command, database_url, tmp_path):
    with SlackEmulator() as slack:
        slack.add_channel("CPORT", "ai-portfolio", is_member=False)
        env = bot_env(database_url, slack, DIGEST_CHANNEL="#ai-portfolio")
        assert run_cli(["db", "upgrade"], env=env, cwd=tmp_path).returncode == 0
        started = run_cli(command, env=env, cwd=tmp_path, timeout=60)
    assert started.returncode == 2
    assert started.stderr == ("initiative-bot: DIGEST_CHANNEL=#ai-portfolio is refused: The bot is not in "
                              "#ai-portfolio. In that channel, type /invite @Initiative Bot, then try again.\n")


def test_a_channel_that_does_not_exist_stops_the_start(database_url, tmp_path):
    with SlackEmulator() as slack:
        env = bot_env(database_url, slack, DIGEST_CHANNEL="C0GONE")
        assert run_cli(["db", "upgrade"], env=env, cwd=tmp_path).returncode == 0
        started = run_cli(["scheduler"], env=env, cwd=tmp_path, timeout=60)
    assert started.returncode == 2
    assert started.stderr.startswith("initiative-bot: DIGEST_CHANNEL=C0GONE is refused: Slack has no channel C0GONE "
                                     "that the bot can see.")


def test_a_digest_channel_that_is_no_channel_at_all_is_one_line(database_url, tmp_path):
    with SlackEmulator() as slack:
        env = bot_env(database_url, slack, DIGEST_CHANNEL="ai portfolio")
        started = run_cli(["scheduler"], env=env, cwd=tmp_path, timeout=60)
    assert started.returncode == 2
    assert started.stderr == ("initiative-bot: DIGEST_CHANNEL is invalid: expected a channel name such as "
                              "#ai-portfolio, or its ID such as C012AB3CD\n")
