"""`initiative-bot playground`, as a person starts and stops it in a terminal."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow  # a process that starts the whole bot: seconds


def start(tmp_path: Path, *args: str, until: str = "Playground ready") -> tuple[subprocess.Popen[str], list[str]]:
    # A DATABASE_URL that nothing could connect to: the playground must not even try it.
    env = {**os.environ, "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/not_this_one"}
    process = subprocess.Popen([sys.executable, "-m", "bot", "playground", "--port", "0", *args], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if until in line:
            return process, lines
    raise AssertionError("".join(lines))


def test_it_serves_the_page_on_loopback_from_its_own_database_and_ends_cleanly_on_ctrl_c(tmp_path):
    process, lines = start(tmp_path, "--sample")
    try:
        said = "".join(lines)
        assert "./initiative-playground.db" in said and "DATABASE_URL is never used" in said
        url = re.search(r"open (http://127\.0\.0\.1:\d+/)", said)
        assert url, said
        page = httpx.get(url.group(1), timeout=10)
        assert page.status_code == 200 and "Initiative Bot playground" in page.text
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]  # user text can never run
        assert (tmp_path / "initiative-playground.db").exists()
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, rest
    assert "Stopped." in rest and "Traceback" not in rest


def test_listening_beyond_loopback_needs_host_and_warns(tmp_path):
    process, lines = start(tmp_path, "--host", "0.0.0.0", until="WARNING")  # said before anything starts
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    assert "WARNING: listening on 0.0.0.0, not loopback" in "".join(lines)
