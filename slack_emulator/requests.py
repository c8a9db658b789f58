"""Requests built and signed the way Slack sends them to an app's HTTP endpoints.

Bodies are returned as `str` because the signature covers the exact bytes: send them unchanged.
The `*_fields`/`*_payload`/`event_envelope` builders return dicts, which are also what Socket Mode
envelopes carry (`SlackEmulator.socket_send("slash_commands", slash_command_fields(...))`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode

import httpx

from .workspace import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_CHANNEL_NAME,
    DEFAULT_USER_ID,
    DEFAULT_USER_NAME,
    TEAM_ID,
)

FORM: Final = "application/x-www-form-urlencoded"
JSON: Final = "application/json"
TEAM_DOMAIN: Final = "acme"
VERIFICATION_TOKEN: Final = "verification-token"  # deprecated by Slack but still sent in every body
# Bolt rejects requests whose timestamp is more than 5 minutes away from its clock.
STALE_AFTER_SECONDS: Final = 5 * 60
BAD_SIGNATURE: Final = "v0=" + "0" * 64

_sequence = itertools.count(1)


# ---- signing -------------------------------------------------------------------------------------------


def sign(body: str, signing_secret: str, timestamp: int) -> str:
    """Slack's v0 signature: `v0=` + hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}"))."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def stale_timestamp(seconds_ago: int = STALE_AFTER_SECONDS + 60) -> int:
    """A timestamp old enough for Bolt to reject the request as a replay."""
    return int(time.time()) - seconds_ago


def signed_headers(
    body: str,
    signing_secret: str,
    timestamp: int | None = None,
    content_type: str = FORM,
    *,
    signature: str | None = None,
) -> dict[str, str]:
    """Slack's request headers. Pass `timestamp=stale_timestamp()` or `signature=BAD_SIGNATURE` to forge."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature or sign(body, signing_secret, timestamp),
    }


def post_signed(
    url: str,
    body: str,
    signing_secret: str,
    *,
    content_type: str | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    timestamp: int | None = None,
    signature: str | None = None,
    timeout: float = 10,
) -> httpx.Response:
    """POST a body as Slack does. `content_type` defaults to JSON for `{...}` bodies, else form-encoded.

    `retry_num`/`retry_reason` add Slack's Events API retry headers (`X-Slack-Retry-Num`, ...).
    """
    content_type = content_type or (JSON if body.lstrip().startswith("{") else FORM)
    headers = signed_headers(body, signing_secret, timestamp, content_type, signature=signature)
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
    if retry_reason is not None:
        headers["X-Slack-Retry-Reason"] = retry_reason
    return httpx.post(url, content=body.encode(), headers=headers, timeout=timeout)


# ---- slash commands ------------------------------------------------------------------------------------


def slash_command_fields(
    command: str = "/initiative",
    text: str = "",
    *,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    response_url: str | None = None,
    trigger_id: str | None = None,
    api_app_id: str = APP_ID,
) -> dict[str, str]:
    """The fields of a slash command, in Slack's order (the Socket Mode payload is this dict)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url or _fake_response_url(team_id),
        "trigger_id": trigger_id or _fake_trigger_id(),
    }


def slash_command_body(command: str = "/initiative", text: str = "", **fields: Any) -> str:
    """A form-encoded slash command request body; keyword arguments as for `slash_command_fields`."""
    return urlencode(slash_command_fields(command, text, **fields))


# ---- interactivity -------------------------------------------------------------------------------------


def interaction_body(payload: Mapping[str, Any]) -> str:
    """Interactivity requests are form-encoded with the JSON payload in one `payload` field."""
    return urlencode({"payload": json.dumps(payload)})


def block_actions_payload(
    action_id: str,
    value: str | None = None,
    *,
    action_type: str = "button",
    block_id: str = "actions",
    action: Mapping[str, Any] | None = None,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    team_id: str = TEAM_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    message: Mapping[str, Any] | None = None,
    view: Mapping[str, Any] | None = None,
    state_values: Mapping[str, Any] | None = None,
    response_url: str | None = None,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A `block_actions` payload for a click on a message (default) or, with `view=`, in a modal/home tab.

    `message` is the clicked message, e.g. `{"ts": ..., "text": ..., "blocks": [...]}` (a recorded
    chat.postMessage response's `message` fits). `action` adds fields such as `selected_option`.
    """
    clicked = {"action_id": action_id, "block_id": block_id, "type": action_type, "action_ts": _ts()}
    if value is not None:
        clicked["value"] = value
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _fake_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [clicked | dict(action or {})],
    }
    if view is not None:
        # Views have no channel, message or response_url: the container points at the view.
        shown = {**view, "state": {"values": dict(state_values or {})}}
        return payload | {"container": {"type": "view", "view_id": view.get("id", "")}, "view": shown}
    clicked_message = {"type": "message", "user": BOT_USER_ID, "ts": _ts(), "text": ""} | dict(message or {})
    return payload | {
        "container": {
            "type": "message",
            "message_ts": clicked_message["ts"],
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "channel": {"id": channel_id, "name": channel_name},
        "message": clicked_message,
        "state": {"values": dict(state_values or {})},
        "response_url": response_url or _fake_response_url(team_id),
    }


def view_submission_payload(
    view_callback_id: str,
    state_values: Mapping[str, Any],
    private_metadata: str = "",
    user_id: str = DEFAULT_USER_ID,
    *,
    user_name: str = DEFAULT_USER_NAME,
    team_id: str = TEAM_ID,
    view: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
    response_urls: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A `view_submission` payload. Pass the opened view (e.g. `emulator.views[view_id]`) as `view`
    so ids, blocks and hash match what the bot opened; `state_values` is
    `{block_id: {action_id: {"type": "plain_text_input", "value": "..."}}}`.
    """
    view_id = f"V{next(_sequence):08d}"
    submitted: dict[str, Any] = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "title": {"type": "plain_text", "text": "Form"},
        "submit": {"type": "plain_text", "text": "Submit"},
        "close": None,
        "blocks": [],
        "private_metadata": private_metadata,
        "callback_id": view_callback_id,
        "external_id": "",
        "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "clear_on_close": False,
        "notify_on_close": False,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": APP_ID,
        "app_installed_team_id": team_id,
        "bot_id": BOT_ID,
    }
    submitted |= dict(view or {})
    # Whatever the base view said, the submission carries these.
    submitted |= {
        "callback_id": view_callback_id,
        "private_metadata": private_metadata,
        "state": {"values": dict(state_values)},
    }
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, user_name, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _fake_trigger_id(),
        "view": submitted,
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


# ---- Events API ----------------------------------------------------------------------------------------


def event_envelope(
    event: Mapping[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    event_time: int | None = None,
    api_app_id: str = APP_ID,
) -> dict[str, Any]:
    """The `event_callback` envelope around an event (also the payload of an `events_api` envelope)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_sequence):010d}",
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }


def event_body(event: Mapping[str, Any], **envelope: Any) -> str:
    """A JSON Events API request body; keyword arguments as for `event_envelope`."""
    return json.dumps(event_envelope(event, **envelope))


def url_verification_body(challenge: str) -> str:
    """The handshake Slack sends when the Events API request URL is configured."""
    return json.dumps({"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"})


# ---- helpers -------------------------------------------------------------------------------------------


def _user(user_id: str, user_name: str, team_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id}


def _fake_trigger_id() -> str:
    # Real-looking but unknown to the emulator: use SlackEmulator.new_trigger_id() when a modal must open.
    return f"{next(_sequence)}.{int(time.time())}.{uuid.uuid4().hex}"


def _fake_response_url(team_id: str) -> str:
    # Refused at once (port 9, discard), never the real Slack: use SlackEmulator.new_response_url()
    # when the bot will post to it.
    return f"http://127.0.0.1:9/commands/{team_id}/{next(_sequence)}/{uuid.uuid4().hex[:24]}"


def _ts() -> str:
    return f"{time.time():.6f}"

def ticked_all(modal: dict[str, Any]) -> dict[str, Any]:
    """State values that tick every checklist option of a modal (its checkbox groups, in actions blocks)."""
    values: dict[str, Any] = {}
    for block in modal["blocks"]:
        for element in block.get("elements", ()) if block["type"] == "actions" else ():
            if element["type"] == "checkboxes":
                values[block["block_id"]] = {element["action_id"]: {"type": "checkboxes",
                                                                    "selected_options": element["options"]}}
    return values


def button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    """The first element with `action_id`: in an actions block, or a section's accessory."""
    return next(e for b in message["blocks"]
                for e in (b["elements"] if b["type"] == "actions" else [b.get("accessory") or {}])
                if e.get("action_id") == action_id)
