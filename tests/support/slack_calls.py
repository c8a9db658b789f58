"""Which Web API methods the bot calls, recorded process-wide from every `SlackEmulator`, per test.

`install()` wraps the emulator once; tests/conftest.py installs it for every run. As a plugin
(`-p tests.support.slack_calls`, with SLACK_CALLS_FILE set) it also writes the record to that file at the end of
the run, for the manifest test's dedicated end-to-end run.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from slack_emulator import server

RECORDED: set[tuple[str, str]] = set()  # (method, test node id)


def install() -> None:
    original = server.SlackEmulator.handle_api_call
    if getattr(original, "records_calls", False):
        return

    def recording(self: server.SlackEmulator, method: str, params: dict[str, Any], headers: dict[str, str]) -> Any:
        test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
        RECORDED.add((method, test))
        return original(self, method, params, headers)

    recording.records_calls = True  # type: ignore[attr-defined]
    server.SlackEmulator.handle_api_call = recording  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    install()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if path := os.environ.get("SLACK_CALLS_FILE"):
        with open(path, "w") as out:
            json.dump(sorted(RECORDED), out)
