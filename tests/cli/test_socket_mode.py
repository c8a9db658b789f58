"""`initiative-bot socket`: Socket Mode through the emulator's apps.connections.open and WebSocket."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.runtime import Runtime
from slack_emulator import SlackEmulator
from slack_emulator.requests import slash_command_fields
from tests.support.serving import CLI, bot_env


def test_a_slash_command_arrives_over_the_socket_is_acknowledged_and_answered(
    runtime: Runtime, database_url: str, slack_emulator: SlackEmulator, tmp_path: Path
) -> None:
    env = bot_env(database_url, slack_emulator)
    del env["SLACK_SIGNING_SECRET"]  # Socket Mode needs none
    log_path = tmp_path / "socket.log"
    with log_path.open("w") as log:
        bot = subprocess.Popen([*CLI, "socket"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert slack_emulator.socket_connected.wait(30), log_path.read_text()
        response_url = slack_emulator.new_response_url()
        command = slash_command_fields("/initiative", "help", response_url=response_url)
        envelope_id = slack_emulator.socket_send("slash_commands", command)

        slack_emulator.wait_for_socket_ack(envelope_id, timeout=10)
        (answer,) = slack_emulator.wait_for_responses(response_url)
    finally:
        bot.terminate()
        exit_code = bot.wait(30)

    assert slack_emulator.calls_to("apps.connections.open")[0].ok
    assert "/initiative new" in answer["text"]
    assert exit_code == 0, log_path.read_text()

