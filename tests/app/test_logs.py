"""What the bot logs, as an operator reads it: one JSON object per line with LOG_FORMAT=json, and no secret in any
line, at any level."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.app import RequestExecutor
from bot.cli import main
from bot.config import load_settings
from bot.logs import configure, request_context
from bot.runtime import Runtime
from bot.services.webhooks.scheduled import deliver_webhooks
from bot.services.webhooks.service import add_endpoint
from bot.views import ids
from slack_emulator import SlackEmulator
from slack_emulator.requests import BAD_SIGNATURE, post_signed, slash_command_body
from tests.listeners.conftest import PEOPLE, Slack
from tests.listeners.test_sign_off_round_trip import approve_from_dm
from tests.support.factories import actor
from tests.support.slack_app import SIGNING_SECRET, serve_in_thread
from tests.support.webhooks import WebhookReceiver


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Everything logged in this process, at DEBUG, as `LOG_FORMAT=json` formats it on stderr."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    captured = io.StringIO()
    for handler in handlers:  # pytest's own, which would keep `configure` from installing the bot's
        root.removeHandler(handler)
    configure(logging.DEBUG, "json")
    root.handlers[0].stream = captured  # type: ignore[attr-defined]
    yield captured
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # what is logged does not depend on the database
def test_a_run_of_commands_clicks_and_webhooks_at_debug_level_logs_json_lines_and_no_secret(
    runtime: Runtime, slack_emulator: SlackEmulator, json_log: io.StringIO
) -> None:
    # As `serve` starts: the secret settings are read (and so known to the logs) before any request.
    load_settings(_env_file=None, slack_bot_token=slack_emulator.bot_token, slack_signing_secret=SIGNING_SECRET,
                  slack_app_token=slack_emulator.app_token)
    runtime.settings = runtime.settings.model_copy(update={"outbound_allow_private": True, "outbound_allow_http": True})
    for user_id, name in PEOPLE.items():
        slack_emulator.add_user(user_id, name)
    with WebhookReceiver() as receiver, serve_in_thread(runtime, slack_emulator) as running:
        with running.runtime.transaction() as session:
            admin = actor("UADMIN", admin=True, team_id=slack_emulator.team_id)
            webhook_secret = add_endpoint(session, actor=admin, settings=runtime.settings,
                                          url=receiver.url + "/hook").secret
        slack = Slack(running)
        assert "Recorded *AI-1*" in slack.command("new Churn model business=<@UMARIA> data=<@UDEV> eng=<@UERIN>")[
            "text"]
        assert "Review of *AI-1*" in slack.command("submit AI-1")["text"]
        slack.deliver()
        approve_from_dm(slack, "UDEV")
        slack.click(ids.VIEW_INITIATIVE, "AI-1", user="UMARIA")
        slack.command("list")
        forged = post_signed(running.events_url, slash_command_body(text="help"), SIGNING_SECRET,
                             signature=BAD_SIGNATURE)
        slack.deliver()
        deliver_webhooks(running.runtime)
        assert receiver.received  # the webhook secret was used to sign
    assert forged.status_code == 401

    output = json_log.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert len(lines) > 20
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert {"DEBUG", "INFO", "WARNING"} <= {line["level"] for line in lines}
    in_requests = [line for line in lines if "request_id" in line]
    assert in_requests and all(line["surface"] in ("command", "action", "view", "event", "unknown")
                               for line in in_requests)
    assert any("duration_ms" in line for line in in_requests)
    for secret in (SIGNING_SECRET, slack_emulator.bot_token, slack_emulator.app_token, webhook_secret,
                   webhook_secret.removeprefix("whsec_")):
        assert secret not in output
    # Nor what people typed, or what the bot showed them: the initiative's title was in every request and message,
    # and in answers to Slack.
    assert "Churn" not in output
    assert not any(line["message"].startswith("Responding with status") for line in lines)


def test_an_unknown_log_format_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOG_FORMAT", "xml")

    code = main(["db", "upgrade"])

    assert code == 2
    assert capsys.readouterr().err == "initiative-bot: LOG_FORMAT is invalid: expected one of text, json (got 'xml')\n"


def test_work_handed_on_after_the_acknowledgement_logs_under_its_request(json_log: io.StringIO) -> None:
    pool = RequestExecutor(max_workers=1)
    with request_context("req-42") as request:
        request.surface, request.team = "command", "T0TEST"
        later = pool.submit(logging.getLogger("bot.listeners").warning, "answered after the ack")
    later.result()
    pool.shutdown()

    [line] = [json.loads(line) for line in json_log.getvalue().splitlines() if "after the ack" in line]
    assert (line["request_id"], line["surface"], line["team"]) == ("req-42", "command", "T0TEST")
