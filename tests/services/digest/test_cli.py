"""`initiative-bot digest`: readable text, the chart file, and one-line errors."""

from __future__ import annotations

from bot.cli import main
from tests.services.digest.histories import Clock, build_fixture_portfolio


def test_prints_the_digest_as_of_a_date_and_writes_the_chart(runtime, monkeypatch, tmp_path, capsys):
    build_fixture_portfolio(runtime, Clock(monkeypatch))
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Europe/Berlin")
    chart = tmp_path / "digest.png"

    assert main(["digest", "--as-of", "2026-11-22", "--chart", str(chart)]) == 0

    out = capsys.readouterr().out
    assert "AI portfolio digest · week 2026-W47" in out  # Sunday 22 Nov ends ISO week 47
    assert "Sun 2026-11-15 23:59 Europe/Berlin - Sun 2026-11-22 23:59 Europe/Berlin" in out
    assert "AI-5 Contract clause search — in Pilot: merged into AI-1" in out
    assert "AI-6 Call-centre summarisation" in out and "AI-10" not in out
    assert chart.read_bytes().startswith(b"\x89PNG")


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
