"""manifest.yml: valid per Slack's JSON Schema, declares what the bot needs, and no scope more."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.support import slack_calls
from tests.support.serving import REPO

MANIFEST = REPO / "manifest.yml"
SCHEMA = REPO / "docs" / "slack-manifest-schema" / "manifest.schema.1.0.0.json"

# The bot scopes each Web API method needs (None: no scope). A method the bot starts calling must be added here.
# Channels: channels:read shows public channels, groups:read the private ones the bot is in; a typed channel may
# be either.
CHANNEL_LOOKUP = ("channels:read", "groups:read")
METHOD_SCOPES: dict[str, str | tuple[str, ...] | None] = {
    "auth.test": None,
    "apps.connections.open": None,  # app-level token (connections:write), not a bot scope
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.delete": "chat:write",
    "chat.getPermalink": None,
    "conversations.info": CHANNEL_LOOKUP,
    "conversations.list": CHANNEL_LOOKUP,
    "conversations.open": "im:write",
    "users.info": "users:read",
    "users.lookupByEmail": "users:read.email",
    "dnd.info": "dnd:read",
    "views.open": None,
    "views.push": None,
    "views.update": None,
    "views.publish": None,
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
# Scopes that features declared in the manifest need, without any Web API call.
FEATURE_SCOPES = {
    "commands": lambda m: bool(m["features"].get("slash_commands")),
    "users:read": lambda m: "user_change" in m["settings"]["event_subscriptions"]["bot_events"],
}
# Tests of the emulator itself call methods to check the emulator, not because the bot needs them.
NOT_THE_BOT = ("tests/slack_emulator/test_emulator.py",)
# Whose calls the tests choose (outbox methods, Socket Mode, serving): not needed for a complete recording.
PLATFORM_TESTS = ("tests/app/", "tests/delivery/", "tests/cli/test_serve.py", "tests/cli/test_socket_mode.py")


def load_manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text())


def validate(manifest: dict[str, Any]) -> None:
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))


def test_the_manifest_is_valid_per_slacks_schema() -> None:
    validate(load_manifest())


def test_the_schema_check_catches_a_broken_manifest() -> None:
    broken = copy.deepcopy(load_manifest())
    broken["features"]["slash_commands"][0]["should_escape"] = "yes"
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


def test_the_manifest_declares_the_command_interactivity_events_and_home() -> None:
    manifest = load_manifest()
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/initiative" and command["should_escape"] is True and command["usage_hint"]
    assert manifest["features"]["bot_user"]["display_name"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_home_opened", "user_change", "app_uninstalled", "tokens_revoked"} <= events
    urls = {
        command["url"],
        manifest["settings"]["interactivity"]["request_url"],
        manifest["settings"]["event_subscriptions"]["request_url"],
    }
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")  # `serve` takes all three on one path


def test_manifest_asks_only_for_scopes_the_recorded_calls_need(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    slack_tests = _slack_test_files()
    collected = {str(Path(item.path).relative_to(REPO)) for item in request.session.items}
    if not slack_tests <= collected:
        recorded = _dedicated_run(sorted(slack_tests - {str(Path(__file__).relative_to(REPO))}), tmp_path)
    elif hasattr(request.config, "workeroutput"):
        # One of several xdist workers, which saw only its own tests' calls: the controller gathers every worker's
        # and checks them with `scope_problems` at the end of the run (tests/conftest.py), failing the run on one.
        request.config.workeroutput["check_scopes"] = True
        pytest.skip("checked over every worker's recorded calls at the end of the run")
    else:
        recorded = slack_calls.RECORDED
    assert scope_problems(recorded) == []


def scope_problems(recorded: set[tuple[str, str]]) -> list[str]:
    """What is wrong with the manifest's scopes, against the Web API calls the tests recorded."""
    methods = {method for method, test in recorded if not test.startswith(NOT_THE_BOT)}
    unknown = methods - METHOD_SCOPES.keys()
    if unknown:
        return [f"add these methods to METHOD_SCOPES: {sorted(unknown)}"]
    manifest = load_manifest()
    needed = {scope for m in methods for scope in _scopes(METHOD_SCOPES[m])}
    needed |= {scope for scope, declared in FEATURE_SCOPES.items() if declared(manifest)}
    asked = set(manifest["oauth_config"]["scopes"]["bot"])
    problems = []
    if asked - needed:
        problems.append(f"the manifest asks for scopes no recorded call needs: {sorted(asked - needed)}")
    if needed - asked:
        problems.append(f"the bot calls methods whose scopes the manifest lacks: {sorted(needed - asked)}")
    return problems


def _scopes(needed: str | tuple[str, ...] | None) -> tuple[str, ...]:
    return () if needed is None else (needed,) if isinstance(needed, str) else needed


def _slack_test_files() -> set[str]:
    """Every test module that talks to the emulator, except the emulator's own and the platform's (whose
    calls are chosen by the tests: outbox methods, Socket Mode)."""
    found = set()
    for path in (REPO / "tests").rglob("test_*.py"):
        relative = str(path.relative_to(REPO))
        if relative.startswith((*PLATFORM_TESTS, *NOT_THE_BOT)):
            continue
        text = path.read_text()
        if "emulator" in text or "slack_app" in text:
            found.add(relative)
    return found


def _dedicated_run(test_files: list[str], tmp_path: Path) -> set[tuple[str, str]]:
    out = tmp_path / "calls.json"
    env = os.environ | {"SLACK_CALLS_FILE": str(out)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.support.slack_calls"]
    subprocess.run([*command, *test_files], cwd=REPO, env=env, capture_output=True, timeout=1800, check=False)
    assert out.exists(), "the end-to-end run recorded nothing"
    return {(method, test) for method, test in json.loads(out.read_text())}
