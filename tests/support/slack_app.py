"""The harness for Slack end-to-end tests: the bot served over real HTTP against a `SlackEmulator`.

    # tests/<area>/conftest.py
    from tests.support.slack_app import slack_app, slack_emulator  # noqa: F401  (fixtures for this package)

    def test_list(slack_app):
        answer = slack_app.ask("list")                  # a signed /initiative request, over HTTP
        assert "AI-1" in answer["text"]                 # its private answer, posted to the response_url
        slack_app.deliver_outbox()                      # DMs/updates/announcements reach the emulator
        assert slack_app.emulator.calls_to("chat.postMessage")

`slack_app` runs on SQLite and PostgreSQL (it builds on the `runtime` fixture). It serves `create_app(runtime)`
through the same WSGI application as `initiative-bot serve` (`bot.web.WebApp`), from a thread of this test
process so a test costs milliseconds; the real `serve` on gunicorn, in its own process, is tested in
tests/cli/test_serve.py. The outbox is not delivered in the background: call `deliver_outbox()` where a
user would be waiting for Slack to show something, so a test states when delivery happens.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest

from bot.app import InitiativeApp, create_app
from bot.config import Settings
from bot.delivery.sender import DeliveryReport, RetryPolicy, deliver_pending, make_client
from bot.runtime import Runtime
from bot.web import EVENTS_PATH, WebApp
from bot.wiring import build_runtime
from slack_emulator import SlackEmulator
from slack_emulator.requests import (
    event_body,
    interaction_body,
    post_signed,
    slash_command_body,
)
from storage.types import utcnow

SIGNING_SECRET = "test-signing-secret"


@dataclass
class RunningSlackApp:
    """A bot being served at `url`, talking to `emulator`, on `runtime`'s database."""

    url: str  # http://127.0.0.1:PORT
    signing_secret: str
    runtime: Runtime
    emulator: SlackEmulator
    app: InitiativeApp

    @property
    def events_url(self) -> str:
        return self.url + EVENTS_PATH

    def command(self, text: str = "", command: str = "/initiative", **fields: Any) -> httpx.Response:
        """POST a signed slash command; fields as for `slack_emulator.requests.slash_command_fields`."""
        return self.post(slash_command_body(command, text, **fields))

    def ask(self, text: str = "", **fields: Any) -> dict[str, Any]:
        """`/initiative <text>` as a user sees it: the bot acknowledges with an empty body at once, and its one
        private answer arrives on the command's response_url; returns that answer."""
        response_url = self.emulator.new_response_url()
        response = self.command(text, response_url=response_url, **fields)
        assert response.status_code == 200, response.text
        assert not response.content, f"expected an empty acknowledgement, got {response.text[:200]}"
        (answer,) = self.emulator.wait_for_responses(response_url)
        return answer

    def interact(self, payload: Mapping[str, Any]) -> httpx.Response:
        """POST a signed interactivity payload (`block_actions_payload(...)`, `view_submission_payload(...)`)."""
        return self.post(interaction_body(payload))

    def event(
        self,
        event: Mapping[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        **envelope: Any,
    ) -> httpx.Response:
        """POST a signed Events API callback; `retry_num`/`retry_reason` add Slack's retry headers."""
        return self.post(event_body(event, **envelope), retry_num=retry_num, retry_reason=retry_reason)

    def post(self, body: str, **options: Any) -> httpx.Response:
        return post_signed(self.events_url, body, self.signing_secret, **options)

    def deliver_outbox(self, **options: Any) -> DeliveryReport:
        return deliver_outbox(self.runtime, self.emulator, **options)


def slack_settings(settings: Settings, emulator: SlackEmulator, signing_secret: str = SIGNING_SECRET) -> Settings:
    """`settings` plus the emulator's URL and tokens: what a deployed bot reads from its environment."""
    return settings.model_copy(
        update={
            "slack_api_url": emulator.base_url,
            "slack_bot_token": emulator.bot_token,
            "slack_app_token": emulator.app_token,
            "slack_signing_secret": signing_secret,
        }
    )


def deliver_outbox(
    runtime: Runtime,
    emulator: SlackEmulator,
    *,
    now: Callable[[], datetime] = utcnow,
    policy: RetryPolicy | None = None,
) -> DeliveryReport:
    """Deliver every due outbox message to the emulator, as the background sender would."""
    client = make_client(slack_settings(runtime.settings, emulator), policy=policy)
    return deliver_pending(runtime, client, limit=10_000, now=now, policy=policy)


@contextmanager
def serve_in_thread(runtime: Runtime, emulator: SlackEmulator, **app_options: Any) -> Iterator[RunningSlackApp]:
    """Serve the bot (HTTP mode) on a free local port until the block ends; `app_options` go to `create_app`."""
    # The production wiring (every domain-event handler), on the test's database.
    app_runtime = build_runtime(slack_settings(runtime.settings, emulator))
    app = create_app(app_runtime, **app_options)
    server = make_server("127.0.0.1", 0, WebApp(app, app_runtime), _ThreadingWSGIServer, _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="slack-app", daemon=True)
    thread.start()
    try:
        yield RunningSlackApp(
            url=f"http://127.0.0.1:{server.server_port}",
            signing_secret=SIGNING_SECRET,
            runtime=app_runtime,
            emulator=emulator,
            app=app,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        app.drain()  # work acknowledged before the test ended
        app_runtime.engine.dispose()


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    # Test-only: a threaded stdlib server in this process. Production serving is gunicorn (bot/cli/serve.py).
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def slack_emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def slack_app(runtime: Runtime, slack_emulator: SlackEmulator) -> Iterator[RunningSlackApp]:
    with serve_in_thread(runtime, slack_emulator) as running:
        yield running
