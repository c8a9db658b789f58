"""The security suite attacks a real `initiative-bot serve` subprocess over loopback, as anyone who can reach
its port could. One `serve` per test module (starting one takes seconds); each test reads only the log lines
written during it (`LogWindow`)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import SQLModel, select

from bot.views import ids
from slack_emulator import TEAM_ID, SlackEmulator
from slack_emulator.calls import RecordedCall
from slack_emulator.requests import (
    block_actions_payload,
    interaction_body,
    post_signed,
    slash_command_body,
    view_submission_payload,
)
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import OutboxMessage, SlackEventReceipt
from tests.support.serving import CLI, BotProcess, bot_env, serving
from tests.support.slack_app import SIGNING_SECRET

# serve's default `--threads`, passed explicitly because the attacks are sized by it.
THREADS = 16
# A log line longer than this holds more than a message: a body, or a dump of one.
LONGEST_LOG_LINE = 1_000
# The people of the emulated workspace: three owners of the initiatives the tests seed, an outsider, and the one
# admin (ADMIN_USER_IDS).
PEOPLE = {"UMARIA": "maria", "UDEV": "dev", "UERIN": "erin", "UOTTO": "otto", "UADMIN": "admin"}
ADMIN = "UADMIN"


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
        return self.count(SlackEventReceipt)

    def count(self, table: type[SQLModel], *where: Any) -> int:
        """Rows of `table` (matching `where`) in serve's database."""
        return len(self.rows(table, *where))

    def rows(self, table: type[SQLModel], *where: Any) -> list[Any]:
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return list(connection.execute(select(table).where(*where)).all())
        finally:
            engine.dispose()

    def ask(self, text: str, *, user: str = "UMARIA") -> dict[str, Any]:
        """`/initiative <text>` as `user`: the empty ack, then the one private answer on the response_url."""
        response_url = self.emulator.new_response_url()
        body = slash_command_body(text=text, user_id=user, user_name=PEOPLE.get(user, "someone"),
                                  response_url=response_url)
        response = post_signed(self.events_url, body, SIGNING_SECRET)
        assert response.status_code == 200 and not response.content, response.text
        (answer,) = self.emulator.wait_for_responses(response_url)
        return answer

    def interact(self, payload: Mapping[str, Any], timeout: float = 10) -> httpx.Response:
        """POST a signed interactivity payload (a click or a modal submission)."""
        return post_signed(self.events_url, interaction_body(payload), SIGNING_SECRET, timeout=timeout)

    def submit(self, view: Mapping[str, Any], values: Mapping[str, Any], *, user: str,
               private_metadata: str | None = None, team_id: str = TEAM_ID) -> dict[str, Any]:
        """`user` submits the modal `view` with `values` (and `private_metadata`, by default the view's own);
        the answer in the acknowledgement ({} when the modal simply closes)."""
        metadata = view.get("private_metadata", "") if private_metadata is None else private_metadata
        payload = view_submission_payload(view["callback_id"], values, metadata, user, view=view, team_id=team_id)
        response = self.interact(payload)
        assert response.status_code == 200, response.text
        return response.json() if response.content else {}

    def modal_opened_by(self, text: str, *, user: str) -> dict[str, Any]:
        """`/initiative <text>` as `user`, a command that opens a modal (`new`); the modal Slack opened."""
        opened = len(self.emulator.calls_to("views.open"))
        body = slash_command_body(text=text, user_id=user, user_name=PEOPLE[user],
                                  response_url=self.emulator.new_response_url(),
                                  trigger_id=self.emulator.new_trigger_id())
        response = post_signed(self.events_url, body, SIGNING_SECRET)
        assert response.status_code == 200 and not response.content, response.text
        call = self.answered("views.open", opened + 1)[opened]
        assert call.ok, call.response
        return call.response["view"]

    def click(self, action_id: str, value: str, *, user: str, dm: dict[str, Any]) -> str:
        """`user` clicks a button carrying `value` in the DM `dm`; returns the click's response_url."""
        response_url = self.emulator.new_response_url()
        click = block_actions_payload(action_id, value, user_id=user, user_name=PEOPLE[user], message=dm,
                                      channel_id=dm["channel"], trigger_id=self.emulator.new_trigger_id(),
                                      response_url=response_url)
        assert self.interact(click).status_code == 200
        return response_url

    def answered(self, method: str, count: int, timeout: float = 10) -> list[RecordedCall]:
        """The first `count` answered calls to `method`, waiting (bounded) for them to arrive."""
        deadline = time.monotonic() + timeout
        while len(answered := [call for call in self.emulator.calls_to(method) if call.status]) < count:
            assert time.monotonic() < deadline, f"{len(answered)} of {count} calls to {method} answered"
            time.sleep(0.05)
        return answered

    def checklist_opened_by(self, user: str, dm: dict[str, Any]) -> dict[str, Any]:
        """`user` clicks Approve in their sign-off request DM; the checklist modal Slack opened."""
        opened = len(self.emulator.calls_to("views.open"))
        self.click(ids.APPROVE, button_value(dm, ids.APPROVE), user=user, dm=dm)
        call = self.answered("views.open", opened + 1)[opened]
        assert call.ok and call.response["view"]["callback_id"] == ids.CHECKLIST_MODAL, call.response
        return call.response["view"]

    def sent_everything(self, timeout: float = 20) -> None:
        """Wait until serve's outbox sender has sent every queued Slack call (bounded)."""
        deadline = time.monotonic() + timeout
        while self.count(OutboxMessage, OutboxMessage.state == "pending"):
            assert time.monotonic() < deadline, "serve's outbox still holds pending messages"
            time.sleep(0.1)
        assert not self.count(OutboxMessage, OutboxMessage.state == "failed")

    def log_window(self) -> LogWindow:
        return LogWindow(self.bot, len(self.bot.log))


@dataclass
class LogWindow:
    bot: BotProcess
    start: int

    @property
    def lines(self) -> list[str]:
        return self.bot.log[self.start :].splitlines()


@contextmanager
def serving_target(workdir: Path, database_url: str, *serve_args: str, cli: Sequence[str] = CLI,
                   settings: Mapping[str, str] | None = None) -> Iterator[Target]:
    """`serve` on a migrated database, pointed at an emulated workspace holding `PEOPLE` (`cli` as for
    `tests.support.serving.serving`; `settings`: more environment variables)."""
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    with SlackEmulator() as emulator:
        for user_id, name in PEOPLE.items():
            emulator.add_user(user_id, name)
        with serving(bot_env(database_url, emulator, ADMIN_USER_IDS=ADMIN, **(settings or {})), workdir,
                     *serve_args, cli=cli) as bot:
            yield Target(bot, emulator, database_url)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    workdir: Path = tmp_path_factory.mktemp("serve")
    with serving_target(workdir, f"sqlite:///{workdir / 'bot.db'}", "--workers", "1", "--threads",
                        str(THREADS)) as target:
        yield target


@dataclass
class Review:
    """An initiative the test created, with its review open and each owner's sign-off request DM sent."""

    key: str

    def request_dm(self, target: Target, user: str) -> dict[str, Any]:
        """The one sign-off request DM `user` got for this initiative, as it now stands."""
        channel = target.emulator.dm_channel(user)
        header = f"Sign-off requested: {self.key} ·"
        [dm] = [m for m in target.emulator.messages(channel) if m["blocks"][0]["text"]["text"].startswith(header)]
        return dm


def open_review(target: Target, title: str = "Churn model") -> Review:
    """Create an initiative owned by UMARIA (business), UDEV (data) and UERIN (engineering), submit it for
    review, and wait until serve has sent the sign-off requests."""
    answer = target.ask(f"new {title} business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin> risk=low")
    key = answer["text"].split("*")[1]
    assert key.startswith("AI-"), answer["text"]
    assert "Review of" in target.ask(f"submit {key}")["text"]
    target.sent_everything()
    return Review(key)


def button_value(message: dict[str, Any], action_id: str) -> str:
    return next(e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == action_id)
