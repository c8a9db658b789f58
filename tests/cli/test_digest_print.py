"""`initiative-bot digest` prints the digest as a person reads it in Slack: people by name, times in words in the
digest's zone (said on the first line), no mrkdwn, every list in full."""

from __future__ import annotations

import re

import pytest

from bot.cli import main
from bot.services.audit.identity import remember_identity
from slack_emulator import SlackEmulator
from tests.services.digest.histories import Clock, build_fixture_portfolio
from tests.support.factories import TEAM


@pytest.fixture
def portfolio(runtime, monkeypatch, tmp_path):
    """The digest fixture's portfolio (AI-6 and AI-7 wait on UDATA and UENG); the bot knows UDATA's name."""
    monkeypatch.chdir(tmp_path)  # no developer's .env
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Europe/Berlin")
    build_fixture_portfolio(runtime, Clock(monkeypatch))
    with runtime.transaction() as session:
        remember_identity(session, team_id=TEAM, user_id="UDATA", display_name="Dana (Data platform)")


def test_prints_names_and_dates_in_words_and_says_plainly_whose_name_it_does_not_know(portfolio, tmp_path, capsys):
    chart = tmp_path / "digest.png"

    assert main(["digest", "--as-of", "2026-11-22", "--chart", str(chart)]) == 0

    out = capsys.readouterr().out
    assert out.startswith("Times are in Europe/Berlin, the digest's zone.\n\nAI portfolio digest · week 2026-W47\n")
    assert "Nov 15, 2026 - Nov 22, 2026 at 23:59 CET · all initiatives · digest default" in out  # Sun 22 Nov ends W47
    assert ("• @Dana (Data platform) (Data owner) blocks AI-7 Demand forecasting for stores at Pilot approval — ⚠️ "
            "overdue, 9 business days, due Nov 16, 2026 at 17:00 CET") in out
    assert "• @UENG (Engineering owner) blocks AI-7" in out
    assert out.rstrip().endswith("Shown by their Slack ID, as their names are not known here (set SLACK_BOT_TOKEN "
                                 "to look them up in Slack): UENG\n\nChart written to " + str(chart))
    assert "• AI-5 Contract clause search — in Pilot: merged into AI-1" in out
    assert "AI-6 Call-centre summarisation" in out and "AI-10" not in out  # AI-10 came after the 22nd
    assert not re.search(r"<[@#!]|\*\w|&gt;|&lt;|:warning:", out), out  # no mrkdwn, no raw mentions or dates
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_asks_slack_for_the_names_it_does_not_know_when_the_bot_token_is_set(portfolio, monkeypatch, capsys):
    with SlackEmulator(team_id=TEAM) as slack:
        slack.add_user("UENG", "eng", display_name="Eng (ML engineering)")
        monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
        monkeypatch.setenv("SLACK_API_URL", slack.base_url)

        assert main(["digest", "--as-of", "2026-11-22"]) == 0

        assert [call.params["user"] for call in slack.calls_to("users.info")] == ["UENG"]  # UDATA is known here
    out = capsys.readouterr().out
    assert "• @Eng (ML engineering) (Engineering owner) blocks AI-7" in out
    assert "• @Dana (Data platform) (Data owner) blocks AI-7" in out
    assert "Slack ID" not in out
