"""The command line as a user meets it: real processes, real exit codes, one clear line on errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.cli import build_parser
from storage.db import make_engine
from storage.migrate import current_revision, head_revision
from storage.models import Initiative, StageTransition
from tests.support.postgres import scratch_database


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "ADMIN_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env={**clean_env, **(env or {})},
        capture_output=True, text=True, timeout=120,
    )


def _assert_one_clear_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_db_upgrade_creates_the_default_sqlite_file_in_the_working_directory(tmp_path):
    result = run_cli("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'initiatives.db'}")
    assert current_revision(engine) == head_revision(engine)
    again = run_cli("db", "upgrade", cwd=tmp_path)
    assert again.returncode == 0 and "was" not in again.stdout


def test_db_upgrade_on_an_empty_postgresql_database(tmp_path):
    with scratch_database("ib_cli") as url:
        result = run_cli("db", "upgrade", cwd=tmp_path, env={"DATABASE_URL": url})
        assert result.returncode == 0, result.stderr
        assert run_cli("db", "current", cwd=tmp_path, env={"DATABASE_URL": url}).returncode == 0


def test_unreachable_postgresql_gives_one_line_and_exit_2(tmp_path):
    result = run_cli("db", "upgrade", cwd=tmp_path,
                     env={"DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/nowhere"})
    _assert_one_clear_line(result, "cannot reach the database", "127.0.0.1:1")
    assert "secret" not in result.stderr


@pytest.mark.parametrize(("env", "names"), [
    ({"DATABASE_URL": "not a url"}, ["DATABASE_URL", "postgresql://"]),
    ({"DATABASE_URL": "mysql://root@localhost/db"}, ["DATABASE_URL"]),
    ({"DEFAULT_TIMEZONE": "Mars/Olympus"}, ["DEFAULT_TIMEZONE", "IANA"]),
    ({"ADMIN_USER_IDS": "U123,not-a-user"}, ["ADMIN_USER_IDS", "not-a-user"]),
    ({"SLACK_API_URL": "slack.example"}, ["SLACK_API_URL", "http"]),
])
def test_invalid_settings_name_the_variable_and_exit_2(tmp_path, env, names):
    _assert_one_clear_line(run_cli("db", "upgrade", cwd=tmp_path, env=env), *names)


def test_demo_needs_no_slack_settings_and_ignores_database_url(tmp_path):
    decoy = tmp_path / "production.db"
    result = run_cli("demo", cwd=tmp_path, env={"DATABASE_URL": f"sqlite:///{decoy}"})
    assert result.returncode == 0, result.stderr
    assert not decoy.exists()
    assert "Portfolio by stage" in result.stdout and "AI-1 moves to Pilot" in result.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'initiative-demo.db'}")
    with Session(engine) as session:
        initiatives = session.exec(select(Initiative)).all()
        assert len(initiatives) >= 6
        assert {i.stage for i in initiatives} >= {"idea", "pilot", "production", "scaled"}
        assert len(session.exec(select(StageTransition)).all()) > len(initiatives)
    rerun = run_cli("demo", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    with Session(engine) as session:
        assert len(session.exec(select(Initiative)).all()) == len(initiatives)  # recreated, not appended


RAW_MRKDWN = re.compile(r"<[@#!][^>]*>|<https?://|(?<!\w)\*[^*\s][^*]*\*|(?<!\w)_[^_\s][^_]*_(?!\w)|`|"
                        r":[a-z_]+:|&(lt|gt|amp);")


def test_the_demo_prints_messages_as_people_read_them_in_slack_with_dates_that_agree(tmp_path):
    result = run_cli("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert RAW_MRKDWN.findall(out) == []
    assert " INFO " not in out + result.stderr  # the bot's log lines do not interrupt the story
    dm = out[out.index("The DM Maria"):out.index("✓ Maria")]
    assert "Requested by: @Maria (Head of Claims)" in dm and "[View initiative]" in dm
    assert re.search(r"Due: [A-Z][a-z]{2} \d{1,2}, \d{4} at 17:00 UTC", dm), dm
    # The morning's nudge and digest speak of AI-6's overdue sign-off alike: the same deadline, the same wait.
    nudge = re.search(r"Overdue since (\w{3} \d{1,2}, \d{4}) at 17:00 UTC · pending (\d+) business days", out)
    digest = re.search(r"@Maria \(Head of Claims\) \(Business owner\) blocks AI-6 .* overdue, (\d+) business days, "
                       r"due (\w{3} \d{1,2}, \d{4})", out)
    assert nudge and digest, out
    assert (nudge.group(1), nudge.group(2)) == (digest.group(2), digest.group(1))
    assert "2 of 5 (40%)" in out and "@Maria (Head of Claims) approved Pilot approval as Business owner" in out
    # After go-live: AI-4 in Production with three actuals, a re-attestation answered no, and a stale model.
    card = out[out.index("What /initiative show AI-4 answers"):out.index("The next working morning")]
    assert "Stale model" in card and "At risk" in card and "trend 320 → 260 → 210" in card, card
    assert "AI-4 Demand forecasting for stores — Hours of manual handling per week 210" in out


def test_every_command_has_help(capsys):
    parser = build_parser()
    subcommands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, subparser in subcommands.items():
        help_text = subparser.format_help()
        assert help_text.startswith("usage: initiative-bot " + name), name
        nested = subparser._subparsers
        for child_name, child in (nested._group_actions[0].choices.items() if nested else []):
            assert child.format_help().startswith(f"usage: initiative-bot {name} {child_name}")


def test_scheduler_needs_the_bot_token_but_no_signing_secret(tmp_path):
    missing = run_cli("scheduler", cwd=tmp_path)
    _assert_one_clear_line(missing, "SLACK_BOT_TOKEN is not set")
    # With the token it gets as far as the database, which is empty here: the one thing left to do is upgrade.
    behind = run_cli("scheduler", cwd=tmp_path, env={"SLACK_BOT_TOKEN": "xoxb-test"})
    _assert_one_clear_line(behind, "initiative-bot db upgrade")
    assert "SIGNING_SECRET" not in behind.stderr
