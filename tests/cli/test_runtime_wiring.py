"""Every CLI command runs on the production runtime (`bot.wiring.build_runtime`), so what it emits is handled
as in `serve`: a digest posted with `initiative-bot digest --post` sends its `digest.posted` webhook."""

from __future__ import annotations

import re

import jsonschema
import pytest

from bot.cli import main
from bot.config import load_settings
from bot.runtime import Runtime
from bot.services.webhooks.scheduled import deliver_webhooks
from slack_emulator import SlackEmulator
from tests.services.webhooks.test_webhooks import SCHEMA
from tests.support.serving import bot_env, run_cli
from tests.support.webhooks import WebhookReceiver, verify_as_receiver

DIGEST_CHANNEL = "C0DIGEST"
# The receiver listens on 127.0.0.1 over plain HTTP, which the SSRF guard refuses unless told otherwise.
LOCAL_RECEIVER = {"OUTBOUND_ALLOW_PRIVATE": "true", "OUTBOUND_ALLOW_HTTP": "true"}


@pytest.fixture(autouse=True)
def _no_dotenv(tmp_path, monkeypatch):
    """Settings come from the environment the test sets, never from a developer's .env in the repository."""
    monkeypatch.chdir(tmp_path)


def test_a_digest_posted_from_the_cli_sends_its_signed_webhook(runtime, database_url, monkeypatch, tmp_path, capsys):
    with SlackEmulator() as slack, WebhookReceiver() as receiver:
        slack.add_channel(DIGEST_CHANNEL, "digest")
        env = bot_env(database_url, slack, DIGEST_CHANNEL=DIGEST_CHANNEL, **LOCAL_RECEIVER)
        for name, value in env.items():  # the same settings, so the same workspace (the token's), as the CLI below
            monkeypatch.setenv(name, value)
        assert main(["webhooks", "add", f"{receiver.url}/hooks", "digest.posted"]) == 0
        secret = re.search(r"whsec_\S+", capsys.readouterr().out).group()  # type: ignore[union-attr]

        posted = run_cli(["digest", "--post"], env=env, cwd=tmp_path)
        assert posted.returncode == 0, posted.stderr
        (message,) = [m for m in slack.messages(DIGEST_CHANNEL) if "thread_ts" not in m]
        assert "Posted to #digest with its chart: https://" in posted.stdout
        assert receiver.received == []  # written by the CLI, delivered by the integrations job

        report = deliver_webhooks(Runtime(settings=load_settings(_env_file=None), engine=runtime.engine))
        assert (report.sent, report.failed) == (1, 0)

    (delivery,) = receiver.received
    assert delivery.path == "/hooks"
    event = verify_as_receiver(secret, delivery.headers, delivery.body)
    jsonschema.validate(event, SCHEMA)
    assert (event["type"], event["team_id"]) == ("digest.posted", slack.team_id)
    digest = event["data"]["digest"]
    assert (digest["name"], digest["channel_id"], digest["ts"]) == ("default", DIGEST_CHANNEL, message["ts"])

