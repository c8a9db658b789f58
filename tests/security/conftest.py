"""The security suite attacks a real `initiative-bot serve` subprocess over loopback, as anyone who can reach
its port could. One `serve` per test module (starting one takes seconds); each test reads only the log lines
written during it (`LogWindow`)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import SlackEventReceipt
from tests.slack_emulator import SlackEmulator
from tests.support.serving import BotProcess, bot_env, serving
from tests.support.slack_requests import slash_command_body

# serve's default `--threads`, passed explicitly because the attacks are sized by it.
THREADS = 16
# A log line longer than this holds more than a message: a body, or a dump of one.
LONGEST_LOG_LINE = 1_000


@dataclass
class Target:
    bot: BotProcess
    emulator: SlackEmulator
    database_url: str

    @property
    def events_url(self) -> str:
        return self.bot.url + "/slack/events"

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.bot.url.removeprefix("http://").split(":")
        return host, int(port)

    def connect(self, sent: bytes = b"", timeout: float = 5) -> socket.socket:
        """A raw TCP connection to serve that has sent `sent` and then nothing more."""
        client = socket.create_connection(self.address, timeout=timeout)
        if sent:
            client.sendall(sent)
        return client

    def command(self, text: str) -> str:
        """A signed `/initiative` command's body, whose answer (after the ack) goes to the emulator."""
        return slash_command_body(text=text, response_url=self.emulator.new_response_url())

    def receipts(self) -> int:
        """Slack events the bot accepted (each accepted event leaves one receipt)."""
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return connection.execute(select(func.count()).select_from(SlackEventReceipt)).scalar_one()
        finally:
            engine.dispose()

    def log_window(self) -> LogWindow:
        return LogWindow(self.bot, len(self.bot.log))


@dataclass
class LogWindow:
    bot: BotProcess
    start: int

    @property
    def lines(self) -> list[str]:
        return self.bot.log[self.start :].splitlines()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    workdir: Path = tmp_path_factory.mktemp("serve")
    database_url = f"sqlite:///{workdir / 'bot.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    with SlackEmulator() as emulator, serving(
        bot_env(database_url, emulator), workdir, "--workers", "1", "--threads", str(THREADS)
    ) as bot:
        yield Target(bot, emulator, database_url)
