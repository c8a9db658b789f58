"""The bot served over HTTP against the Slack emulator, with the surface's notifications wired in, and a
small driver that speaks to it as Slack would (signed slash commands, clicks and modal submissions)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.runtime import Runtime
from slack_emulator import SlackEmulator
from slack_emulator.requests import block_actions_payload, view_submission_payload
from tests.support.slack_app import RunningSlackApp, serve_in_thread, slack_emulator  # noqa: F401

DIGEST_CHANNEL = "CDIGEST"
PEOPLE = {"UMARIA": "maria", "UDEV": "dev", "UERIN": "erin", "UCARL": "carl", "UOTTO": "otto", "UADMIN": "admin"}


class Slack:
    """Drives the running bot the way people in Slack do, and reads what reached the emulator."""

    def __init__(self, running: RunningSlackApp) -> None:
        self.app = running
        self.emulator = running.emulator
        self.runtime = running.runtime
        self._seen: set[int] = set()

    def command(self, text: str, *, user: str = "UMARIA", opens_modal: bool = False, **fields: Any) -> dict[str, Any]:
        """`/initiative <text>`; returns the one private answer (posted to the response_url after an empty
        acknowledgement), or {} when the command opened a modal (pass opens_modal=True)."""
        fields["user_name"] = PEOPLE.get(user, "someone")
        if not opens_modal:
            return self.app.ask(text, user_id=user, **fields)
        fields["trigger_id"] = self.emulator.new_trigger_id()
        response_url = self.emulator.new_response_url()
        opened_before = len(self._modal_calls())
        response = self.app.command(text, user_id=user, response_url=response_url, **fields)
        assert response.status_code == 200, response.text
        assert not response.content, response.text
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if posts := self.emulator.responses(response_url):
                assert len(posts) == 1, posts
                return posts[0]
            if len(self._modal_calls()) > opened_before:
                return {}
            time.sleep(0.01)
        raise AssertionError(f"no answer to /initiative {text[:60]!r}")

    def _modal_calls(self) -> list[Any]:
        return [c for c in self.emulator.calls if c.method in ("views.open", "views.push") and c.status]

    def click(self, action_id: str, value: str, *, user: str, message: dict[str, Any] | None = None,
              channel: str | None = None, home: bool = False, trigger_age: float = 0.0) -> tuple[int, str]:
        """A click on a message button (DM by default) or, with home=True, in App Home; returns the
        response_url it carried (message clicks only). `trigger_age`: seconds its trigger_id had already
        lived when the click arrived."""
        response_url = self.emulator.new_response_url()
        trigger_id = self.emulator.new_trigger_id()
        self.emulator.age_trigger(trigger_id, trigger_age)
        options: dict[str, Any] = {"user_id": user, "trigger_id": trigger_id}
        if home:
            options["view"] = {"id": "VHOME", "type": "home", "callback_id": ""}
        else:
            options |= {"message": message or {}, "channel_id": channel or "D000", "response_url": response_url}
        response = self.app.interact(block_actions_payload(action_id, value, **options))
        assert response.status_code == 200, response.text
        return response.status_code, response_url

    def submit(self, view: dict[str, Any], values: dict[str, Any], *, user: str) -> dict[str, Any]:
        """Submit a modal the bot opened; returns the ack body ({} when the modal simply closes)."""
        payload = view_submission_payload(view["callback_id"], values, view.get("private_metadata", ""), user,
                                          view=view)
        response = self.app.interact(payload)
        assert response.status_code == 200, response.text
        return response.json() if response.content else {}

    def opened_modal(self, timeout: float = 5) -> dict[str, Any]:
        """The next modal the bot opens or pushes (a click's listener runs after its ack), as Slack rendered it."""
        call = self._next_call(("views.open", "views.push"), timeout)
        assert call.ok, call.response
        return call.response["view"]

    def answer_at(self, response_url: str, timeout: float = 5) -> dict[str, Any]:
        """The one message the bot posted to a response_url."""
        deadline = time.monotonic() + timeout
        while not (posts := self.emulator.responses(response_url)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(posts) == 1, posts
        return posts[0]

    def _next_call(self, methods: tuple[str, ...], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = [c for c in self.emulator.calls if c.method in methods and id(c) not in self._seen and c.status]
            if calls:
                self._seen.add(id(calls[0]))
                return calls[0]
            time.sleep(0.02)
        raise AssertionError(f"no call to {' or '.join(methods)} within {timeout} s")

    def deliver(self) -> None:
        report = self.app.deliver_outbox()
        assert not getattr(report, "failed", 0), report

    def dms_to(self, user: str) -> list[dict[str, Any]]:
        channel = self.emulator.dm_channel(user)
        return self.emulator.messages(channel) if channel else []


@pytest.fixture
def slack(runtime: Runtime, slack_emulator: SlackEmulator) -> Iterator[Slack]:  # noqa: F811
    """The bot, wired as in production (`build_runtime`), with a digest channel and a few people."""
    runtime.settings = runtime.settings.model_copy(update={"digest_channel": DIGEST_CHANNEL})
    for user_id, name in PEOPLE.items():
        slack_emulator.add_user(user_id, name)
    slack_emulator.add_channel(DIGEST_CHANNEL, "ai-portfolio")
    with serve_in_thread(runtime, slack_emulator) as running:
        yield Slack(running)
