"""How the real processes end when they cannot start: one clear line on stderr and exit code 2, the same for
`serve` and `socket`, whether Slack refuses the token, Slack cannot be reached or the database cannot; the
traceback only with -v. And `db current` only looks: it never creates a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from slack_emulator import SlackEmulator
from storage.db import make_engine
from storage.migrate import upgrade
from tests.support.serving import bot_env, free_port, run_cli

UNREACHABLE_DATABASE = "postgresql://nobody:secret@127.0.0.1:1/nowhere"


def _migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize("command", ["serve", "socket"])
def test_a_token_slack_refuses_ends_the_process_in_one_line(command: str, tmp_path: Path) -> None:
    with SlackEmulator(bot_token="xoxb-the-real-one") as emulator:
        env = bot_env(_migrated_sqlite(tmp_path), emulator, SLACK_BOT_TOKEN="xoxb-revoked")
        result = run_cli([command], env, tmp_path)

    assert result.returncode == 2
    assert _one_line(result.stderr) == (
        "initiative-bot: SLACK_BOT_TOKEN was refused by Slack (invalid_auth): "
        "expected the bot token from OAuth & Permissions"
    )


@pytest.mark.parametrize("command", ["serve", "socket"])
def test_slack_out_of_reach_ends_the_process_in_one_line(command: str, tmp_path: Path) -> None:
    with SlackEmulator() as emulator:
        nowhere = f"http://127.0.0.1:{free_port()}/api/"
        env = bot_env(_migrated_sqlite(tmp_path), emulator, SLACK_API_URL=nowhere)
        result = run_cli([command], env, tmp_path)

    assert result.returncode == 2
    assert _one_line(result.stderr).startswith(f"initiative-bot: SLACK_API_URL cannot be reached ({nowhere}): ")


@pytest.mark.parametrize("command", ["serve", "socket"])
def test_a_database_out_of_reach_ends_the_process_in_one_line(command: str, tmp_path: Path) -> None:
    with SlackEmulator() as emulator:
        result = run_cli([command], bot_env(UNREACHABLE_DATABASE, emulator), tmp_path)

    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert line.startswith("initiative-bot: cannot reach the database at postgresql+psycopg://nobody:***@127.0.0.1:1")
    assert "secret" not in result.stderr


def test_socket_ends_in_one_line_when_slack_refuses_the_app_token(tmp_path: Path) -> None:
    with SlackEmulator(app_token="xapp-the-real-one") as emulator:
        env = bot_env(_migrated_sqlite(tmp_path), emulator, SLACK_APP_TOKEN="xapp-revoked")
        result = run_cli(["socket"], env, tmp_path)

    # Bolt's and slack_sdk's own lines (a warning, the failed apps.connections.open) are held back without -v.
    assert result.returncode == 2
    assert _one_line(result.stderr) == (
        "initiative-bot: SLACK_APP_TOKEN was refused by Slack (invalid_auth): expected an app-level token with "
        "connections:write"
    )

    with SlackEmulator(app_token="xapp-the-real-one") as emulator:
        env = bot_env(_migrated_sqlite(tmp_path), emulator, SLACK_APP_TOKEN="xapp-revoked")
        verbose = run_cli(["-v", "socket"], env, tmp_path)
    assert verbose.returncode == 2 and "Failed to retrieve WSS URL" in verbose.stderr


def test_verbose_adds_the_traceback_and_ends_with_the_same_line(tmp_path: Path) -> None:
    with SlackEmulator() as emulator:
        result = run_cli(["-v", "socket"], bot_env(UNREACHABLE_DATABASE, emulator), tmp_path)

    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("initiative-bot: cannot reach the database at ")


@pytest.mark.parametrize("database_url", [None, "sqlite:///data/missing.db"])
def test_db_current_never_creates_a_database(database_url: str | None, tmp_path: Path) -> None:
    with SlackEmulator() as emulator:
        env = bot_env(database_url or "", emulator)
    if database_url is None:
        del env["DATABASE_URL"]  # the default, ./initiatives.db
    (tmp_path / "data").mkdir()

    result = run_cli(["db", "current"], env, tmp_path)

    assert result.returncode == 2
    missing = "data/missing.db" if database_url else "initiatives.db"
    assert _one_line(result.stderr) == (
        f"initiative-bot: there is no database at {missing}: `initiative-bot db upgrade` creates it"
    )
    assert list(tmp_path.rglob("*.db")) == []
