"""Run the real `initiative-bot serve` / `socket` in a subprocess, as an operator would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from slack_emulator import SlackEmulator
from tests.support.slack_app import SIGNING_SECRET

CLI = [sys.executable, "-m", "bot"]
REPO = Path(__file__).resolve().parents[2]


@dataclass
class BotProcess:
    process: subprocess.Popen[str]
    url: str
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def bot_env(database_url: str, emulator: SlackEmulator, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV")}
    return (
        keep
        | {
            "PYTHONPATH": str(REPO),
            "DATABASE_URL": database_url,
            "SLACK_API_URL": emulator.base_url,
            "SLACK_BOT_TOKEN": emulator.bot_token,
            "SLACK_APP_TOKEN": emulator.app_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        }
        | extra
    )


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(env: dict[str, str], cwd: Path, *args: str, cli: Sequence[str] = CLI) -> Iterator[BotProcess]:
    """`initiative-bot serve` on a free port, healthy before the block starts, stopped after it. `cli` is the
    command that runs the bot's command line (tests/support/table_dns_bot.py: the same, with a DNS table)."""
    port = free_port()
    log_path = cwd / f"serve-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*cli, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    bot = BotProcess(process, f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_healthy(bot)
        yield bot
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _wait_healthy(bot: BotProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bot.process.poll() is not None:
            raise AssertionError(f"serve exited with {bot.process.returncode}:\n{bot.log}")
        try:
            if httpx.get(bot.url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"serve did not become healthy within {timeout}s:\n{bot.log}")
