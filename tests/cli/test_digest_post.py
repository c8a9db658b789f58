"""`initiative-bot digest --post` and its one-line errors (printing it: tests/cli/test_digest_print.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select

from bot.cli import main
from bot.services.gates.workspaces import ensure_workspace
from slack_emulator import SlackEmulator
from storage.models import Digest, DigestRun
from tests.adapters.digest.conftest import DIGEST_CHANNEL
from tests.support.factories import TEAM


def test_post_without_a_token_is_one_clear_line(runtime, capsys):
    assert main(["digest", "--post"]) == 2
    assert capsys.readouterr().err.strip() == (
        "initiative-bot: SLACK_BOT_TOKEN is not set: expected the bot token from OAuth & Permissions")


def test_a_bad_date_says_how_to_write_it(runtime, capsys):
    try:
        main(["digest", "--as-of", "23/11/2026"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "'23/11/2026' is not a date; use YYYY-MM-DD, like 2026-11-23" in capsys.readouterr().err


@pytest.fixture
def slack(runtime, monkeypatch, tmp_path) -> Iterator[SlackEmulator]:
    """Slack (an emulator) with #digest, which the bot has not been invited to yet, and an admin."""
    monkeypatch.chdir(tmp_path)  # no developer's .env
    with SlackEmulator(team_id=TEAM) as emulator:
        emulator.add_channel(DIGEST_CHANNEL, "digest", is_member=False)
        emulator.add_user("UADMIN", "ada")
        monkeypatch.setenv("SLACK_BOT_TOKEN", emulator.bot_token)
        monkeypatch.setenv("SLACK_API_URL", emulator.base_url)
        monkeypatch.setenv("ADMIN_USER_IDS", "UADMIN")
        yield emulator


def test_post_after_a_refusal_posts_it_once_and_then_links_to_it(slack, runtime, capsys):
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=TEAM)
        # Added while the bot was in #digest; it has been removed since.
        session.add(Digest(team_id=TEAM, name="weekly", channel_id=DIGEST_CHANNEL, timezone="Europe/Berlin",
                           created_by="UADMIN"))

    assert main(["digest", "--name", "weekly", "--post"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("initiative-bot: The digest for 2026-W")  # after the workspace line
    assert ("was not posted to #digest: not_in_channel (the bot is not a member of the channel; invite it with "
            "/invite). In #digest, type /invite @Initiative Bot, then run this again. The scheduler tries again within "
            "the hour until the week ends.\n") in err
    assert slack.messages(DIGEST_CHANNEL) == []

    slack.add_channel(DIGEST_CHANNEL, "digest")  # the bot is invited
    assert main(["digest", "--name", "weekly", "--post"]) == 0
    [message] = slack.messages(DIGEST_CHANNEL)
    link = f"https://emulated.slack.com/archives/{DIGEST_CHANNEL}/p{message['ts'].replace('.', '')}"
    assert capsys.readouterr().out.endswith(f"\nPosted to #digest with its chart: {link}\n")

    assert main(["digest", "--name", "weekly", "--post"]) == 0
    assert capsys.readouterr().out.endswith(f"\nAlready posted for {_week(runtime)}, to #digest: {link}\n")
    assert len(slack.messages(DIGEST_CHANNEL)) == 1
    assert sorted(c.params["channel"] for c in slack.calls_to("chat.postMessage") if c.ok) == [DIGEST_CHANNEL, "UADMIN"]

    del slack.workspace.messages[(DIGEST_CHANNEL, message["ts"])]  # someone deleted the digest in Slack
    assert main(["digest", "--name", "weekly", "--post"]) == 1
    assert "but Slack does not find that message now (message_not_found)" in capsys.readouterr().err


def test_digest_channel_by_name_is_posted_to_by_its_id(slack, runtime, monkeypatch, capsys):
    slack.add_channel(DIGEST_CHANNEL, "digest")
    monkeypatch.setenv("DIGEST_CHANNEL", "#digest")
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=TEAM)
    assert main(["digest", "--post"]) == 0
    assert "\nPosted to #digest with its chart: " in capsys.readouterr().out
    with runtime.transaction() as session:
        assert session.exec(select(Digest.channel_id).where(Digest.name == "default")).one() == DIGEST_CHANNEL


def test_a_digest_channel_the_bot_is_not_in_stops_the_post_before_anything_is_queued(slack, runtime, monkeypatch,
                                                                                    capsys):
    monkeypatch.setenv("DIGEST_CHANNEL", "#digest")
    assert main(["digest", "--post"]) == 2
    assert capsys.readouterr().err == (
        "initiative-bot: DIGEST_CHANNEL=#digest is refused: The bot is not in #digest. In that channel, type "
        "/invite @Initiative Bot, then try again.\n")
    assert slack.calls_to("chat.postMessage") == []


def _week(runtime) -> str:
    with runtime.transaction() as session:
        return session.exec(select(DigestRun.week)).one()
