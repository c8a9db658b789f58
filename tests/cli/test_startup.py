"""`initiative-bot --help` and `--version` start fast: no command module imports a heavy library at its top level.

Each case runs in a fresh interpreter, so what it finds in `sys.modules` is what the command line itself loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# What each subcommand imports when it runs, and never before: Slack, storage, serving, HTTP, charts, settings.
HEAVY = ("slack_sdk", "slack_bolt", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "gunicorn", "httpx",
         "matplotlib", "pydantic", "pydantic_settings", "apscheduler", "yaml", "jsonschema")
PROBE = """
import json, sys
from bot.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stdout.flush()
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _run(*args: str) -> tuple[str, set[str]]:
    """The command line's output, and the top-level packages it had imported when it finished."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True, text=True, timeout=60)
    modules = json.loads(done.stderr.strip().splitlines()[-1])
    return done.stdout, {name.partition(".")[0] for name in modules}


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("digest", "--help"), ("audit", "export", "--help")])
def test_help_and_version_import_no_heavy_library(args):
    output, loaded = _run(*args)
    assert output.strip()
    assert "bot" in loaded  # the probe really ran the command line
    assert sorted(loaded & set(HEAVY)) == []


def test_help_still_describes_every_option():
    """Light imports must not cost the help its content: choices and event names come from their domains."""
    assert "{csv,jsonl}" in _run("audit", "export", "--help")[0]
    assert "digest.posted" in _run("webhooks", "add", "--help")[0]


def test_version_is_the_installed_package_version_which_is_pyprojects():
    done = subprocess.run([sys.executable, "-m", "bot", "--version"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert done.stdout == f"initiative-bot {version('initiative-bot')}\n"
    assert version("initiative-bot") == declared
