"""The Slack emulator, exercised through slack_sdk's real clients over HTTP and WebSocket."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import urllib.error
from collections.abc import Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from slack_emulator import RateLimit, RateLimiter, SlackEmulator, validate_blocks, validate_view
from slack_emulator import requests as sr

TS = re.compile(r"^\d{10}\.\d{6}$")


def _section(text: str = "hello") -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _modal(**fields: Any) -> dict[str, Any]:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "New initiative"},
        "blocks": [_section()],
    }
    return view | fields


def _error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return str(raised.value.response["error"])


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.add_user("U1", "alice", tz="America/New_York")
        emulator.add_user("UGONE", "gone", deleted=True)
        emulator.add_channel("C1", "initiatives")
        emulator.add_channel("COUT", "elsewhere", is_member=False)
        emulator.add_channel("COLD", "old", is_archived=True)
        yield emulator
        assert emulator.server_errors == []


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.bot_token, base_url=emu.base_url, retry_handlers=[])


def test_auth(emu: SlackEmulator, client: WebClient) -> None:
    identity = client.auth_test()
    assert (identity["user_id"], identity["team_id"], identity["bot_id"]) == ("UBOT", "T0001", emu.bot_id)
    assert _error_of(WebClient(token="xoxb-wrong", base_url=emu.base_url).auth_test) == "invalid_auth"
    assert _error_of(WebClient(base_url=emu.base_url).auth_test) == "not_authed"
    assert _error_of(lambda: client.api_call("chat.scheduleMessage")) == "unknown_method"
    emu.deactivate_token()
    assert _error_of(client.auth_test) == "account_inactive"


def test_a_revoked_token_stays_refused_and_a_reinstall_issues_a_new_one(emu: SlackEmulator, client: WebClient) -> None:
    emu.revoke_token("invalid_auth")
    assert _error_of(client.auth_test) == "invalid_auth"

    emu.reinstall(bot_token="xoxb-new")

    assert _error_of(client.auth_test) == "invalid_auth"  # the old token, as it was revoked
    assert WebClient(token="xoxb-new", base_url=emu.base_url).auth_test()["team_id"] == "T0001"
    emu.reinstall(bot_token="xoxb-newer")  # the token it replaces is refused as Slack refuses a revoked one
    assert _error_of(WebClient(token="xoxb-new", base_url=emu.base_url).auth_test) == "token_revoked"


def test_default_requester_and_channel_exist(client: WebClient) -> None:
    fields = sr.slash_command_fields()

    assert client.users_info(user=fields["user_id"])["user"]["name"] == fields["user_name"]
    assert client.chat_postMessage(channel=fields["channel_id"], text="hi")["ok"]


def test_post_to_a_user_opens_a_dm(emu: SlackEmulator, client: WebClient) -> None:
    first = client.chat_postMessage(channel="U1", text="hi")
    second = client.chat_postMessage(channel="U1", text="again")
    opened = client.conversations_open(users="U1")

    dm = first["channel"]
    assert dm.startswith("D") and second["channel"] == dm and opened["channel"]["id"] == dm
    assert TS.match(first["ts"]) and float(second["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "hi"
    assert [m["text"] for m in emu.messages(dm)] == ["hi", "again"]
    assert emu.dm_channel("U1") == dm


@pytest.mark.parametrize(
    ("channel", "error"),
    [
        ("COUT", "not_in_channel"),
        ("COLD", "is_archived"),
        ("CNOPE", "channel_not_found"),
        ("UNOPE", "channel_not_found"),
        ("UGONE", "user_disabled"),
        ("UBOT", "cannot_dm_bot"),
    ],
)
def test_post_errors(client: WebClient, channel: str, error: str) -> None:
    assert _error_of(lambda: client.chat_postMessage(channel=channel, text="x")) == error


def test_post_without_content_or_channel(client: WebClient) -> None:
    assert _error_of(lambda: client.api_call("chat.postMessage", json={"channel": "C1"})) == "no_text"
    assert _error_of(lambda: client.api_call("chat.postMessage", json={"text": "x"})) == "channel_not_found"


def test_post_ephemeral(emu: SlackEmulator, client: WebClient) -> None:
    answer = client.chat_postEphemeral(channel="C1", user="U1", text="only you can see this")

    assert TS.match(answer["message_ts"])
    assert [(m["channel"], m["user"], m["text"]) for m in emu.workspace.ephemeral_messages] == [
        ("C1", "U1", "only you can see this")]
    assert emu.messages("C1") == []  # nobody else sees it
    assert _error_of(lambda: client.api_call("chat.postEphemeral", json={"channel": "C1", "text": "x"})) == (
        "invalid_arguments")
    assert _error_of(lambda: client.chat_postEphemeral(channel="C1", user="UNOPE", text="x")) == "user_not_found"
    assert _error_of(lambda: client.chat_postEphemeral(channel="COLD", user="U1", text="x")) == "is_archived"


def test_chat_update(emu: SlackEmulator, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U1", text="draft")

    assert (
        _error_of(lambda: client.chat_update(channel="U1", ts=posted["ts"], text="x")) == "channel_not_found"
    )
    assert (
        _error_of(lambda: client.chat_update(channel=posted["channel"], ts="1.2", text="x"))
        == "message_not_found"
    )
    updated = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="final")
    assert updated["message"]["text"] == "final"
    assert [m["text"] for m in emu.messages(posted["channel"])] == ["final"]


def test_blocks_without_text_are_accepted_with_a_warning(emu: SlackEmulator, client: WebClient) -> None:
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns client-side too
        response = client.chat_postMessage(channel="C1", blocks=[_section()])

    assert response["warning"] == "missing_text_in_request"
    assert [call.method for call in emu.warnings] == ["chat.postMessage"]
    client.chat_postMessage(channel="C1", blocks=[_section()], text="fallback")
    assert len(emu.warnings) == 1


def _checkboxes(count: int) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": f"o{i}"}, "value": str(i)} for i in range(count)]
    element = {"type": "checkboxes", "action_id": "pick", "options": options}
    return {"type": "input", "label": {"type": "plain_text", "text": "Pick"}, "element": element}


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([_section()] * 51, "/blocks"),
        ([_section("x" * 3001)], "/blocks/0/text/text"),
        ([_checkboxes(11)], "/blocks/0/element/options"),
        ([{"type": "section", "txet": {"type": "mrkdwn", "text": "typo"}}], "/blocks/0"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "/blocks/0/text/text"),
    ],
    ids=["51-blocks", "long-section", "11-checkboxes", "unknown-key", "long-header"],
)
def test_invalid_blocks_are_rejected(client: WebClient, blocks: list[dict[str, Any]], pointer: str) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="fallback", blocks=blocks)

    assert raised.value.response["error"] == "invalid_blocks"
    assert any(f"[json-pointer:{pointer}" in error for error in raised.value.response["errors"])


def test_validate_blocks_accepts_a_realistic_message() -> None:
    button = {"type": "button", "action_id": "approve", "text": {"type": "plain_text", "text": "Approve"}}
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Gate review"}},
        _section("*Churn model* moves to _pilot_"),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Owner <@U1>"}]},
        {"type": "actions", "block_id": "review", "elements": [button | {"style": "primary", "value": "7"}]},
        _checkboxes(10),
    ]
    assert validate_blocks(blocks, "message") == []
    assert validate_blocks([_section()] * 100, "modal") == []


def test_validate_view_limits() -> None:
    assert validate_view(_modal()) == []
    errors = validate_view(
        _modal(
            title={"type": "plain_text", "text": "t" * 25},
            private_metadata="m" * 3001,
            callback_id="c" * 256,
            blocks=[_checkboxes(2)],
        )
    )
    pointers = {error.rsplit("[json-pointer:", 1)[1].rstrip("]") for error in errors}
    assert {"/view/title/text", "/view/private_metadata", "/view/callback_id", "/view/submit"} <= pointers
    assert validate_view(_modal(), "home")  # wrong surface


def test_triggers_are_single_use_and_expire(emu: SlackEmulator, client: WebClient) -> None:
    trigger = emu.new_trigger_id()
    opened = client.views_open(trigger_id=trigger, view=_modal(external_id="new-1"))
    assert opened["view"]["id"].startswith("V")
    assert _error_of(lambda: client.views_open(trigger_id=trigger, view=_modal())) == "expired_trigger_id"

    stale = emu.new_trigger_id()
    emu.age_trigger(stale, 3.5)
    assert _error_of(lambda: client.views_open(trigger_id=stale, view=_modal())) == "expired_trigger_id"
    assert _error_of(lambda: client.views_push(trigger_id="1.2.3", view=_modal())) == "invalid_trigger_id"


def test_invalid_view_is_explained(emu: SlackEmulator, client: WebClient) -> None:
    long_title = _modal(title={"type": "plain_text", "text": "x" * 25})
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id=emu.new_trigger_id(), view=long_title)

    assert raised.value.response["error"] == "invalid_arguments"
    assert "/view/title/text" in raised.value.response["response_metadata"]["messages"][0]


def test_views_update_and_publish(emu: SlackEmulator, client: WebClient) -> None:
    opened = client.views_open(trigger_id=emu.new_trigger_id(), view=_modal(external_id="form-1"))["view"]

    updated = client.views_update(external_id="form-1", view=_modal(blocks=[_section("step 2")]))["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert _error_of(lambda: client.views_update(view_id="VNOPE", view=_modal())) == "not_found"
    stale_hash = opened["hash"]
    conflict = lambda: client.views_update(view_id=opened["id"], hash=stale_hash, view=_modal())  # noqa: E731
    assert _error_of(conflict) == "hash_conflict"

    client.views_publish(user_id="U1", view={"type": "home", "blocks": [_section("Your initiatives")]})
    assert emu.home_views["U1"]["blocks"][0]["text"]["text"] == "Your initiatives"


def test_users_info(client: WebClient) -> None:
    user = client.users_info(user="U1")["user"]

    offset = datetime.now(ZoneInfo("America/New_York")).utcoffset()
    assert offset is not None
    assert (user["tz"], user["tz_offset"]) == ("America/New_York", offset.total_seconds())
    assert user["tz_label"] in ("Eastern Standard Time", "Eastern Daylight Time")
    assert user["profile"]["display_name"] == "alice" and user["is_admin"] is False
    assert _error_of(lambda: client.users_info(user="UNOPE")) == "user_not_found"


def test_conversations_info_shows_membership_and_hides_private_channels_the_bot_is_not_in(
    emu: SlackEmulator, client: WebClient
) -> None:
    emu.add_channel("C2", "ai-portfolio", is_member=False)
    emu.add_channel("G1", "secret", is_member=False, is_private=True)
    channel = client.conversations_info(channel="C2")["channel"]
    assert (channel["id"], channel["name"], channel["is_member"], channel["is_private"]) == (
        "C2", "ai-portfolio", False, False
    )
    assert _error_of(lambda: client.conversations_info(channel="G1")) == "channel_not_found"
    assert _error_of(lambda: client.conversations_info(channel="C404")) == "channel_not_found"


def test_conversations_list_pages_with_cursors(emu: SlackEmulator, client: WebClient) -> None:
    for n in range(5):
        emu.add_channel(f"C1{n}", f"team-{n}", is_member=n % 2 == 0)
    emu.add_channel("C20", "closed", is_archived=True)
    emu.add_channel("G1", "mine", is_private=True)
    emu.add_channel("G2", "not-mine", is_member=False, is_private=True)
    names, cursor, pages = [], "", 0
    while True:
        answer = client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=2, cursor=cursor or None
        )
        names += [c["name"] for c in answer["channels"]]
        pages += 1
        cursor = answer["response_metadata"]["next_cursor"]
        if not cursor:
            break
    # In id order, public channels whether the bot is in them or not, and G1 (the bot is in it); not the archived
    # ones, nor a private one without the bot.
    assert names == ["general", "initiatives", "team-0", "team-1", "team-2", "team-3", "team-4", "elsewhere", "mine"]
    assert pages == 5
    assert "closed" in [c["name"] for c in client.conversations_list(limit=1000)["channels"]]
    assert _error_of(lambda: client.conversations_list(cursor="bm9wZQ==")) == "invalid_cursor"


def test_chat_get_permalink(emu: SlackEmulator, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C0001", text="hello")
    link = client.chat_getPermalink(channel="C0001", message_ts=posted["ts"])["permalink"]
    assert link == f"https://emulated.slack.com/archives/C0001/p{posted['ts'].replace('.', '')}"
    assert _error_of(lambda: client.chat_getPermalink(channel="C0001", message_ts="1.000001")) == "message_not_found"
    assert _error_of(lambda: client.chat_getPermalink(channel="C404", message_ts=posted["ts"])) == "channel_not_found"


def test_file_upload(emu: SlackEmulator, client: WebClient) -> None:
    done = client.files_upload_v2(channel="C1", content="a,b\n1,2\n", filename="digest.csv", title="Digest")

    uploaded = emu.files[done["file"]["id"]]
    assert (uploaded.content, uploaded.title, uploaded.channel_id) == (b"a,b\n1,2\n", "Digest", "C1")
    assert uploaded.completed and uploaded.length == 8

    assert _error_of(lambda: client.files_completeUploadExternal(files=[{"id": "FNOPE"}])) == "file_not_found"
    announced = client.files_getUploadURLExternal(filename="x.png", length=3)
    httpx.post(announced["upload_url"], content=b"png").raise_for_status()
    to_outside = lambda: client.files_completeUploadExternal(  # noqa: E731
        files=[{"id": announced["file_id"]}], channel_id="COUT"
    )
    assert _error_of(to_outside) == "not_in_channel"


def test_response_url(emu: SlackEmulator) -> None:
    url = emu.new_response_url()

    assert httpx.post(url, json={"text": "Saved", "replace_original": True}).json() == {"ok": True}
    assert emu.responses(url) == [{"text": "Saved", "replace_original": True}]
    assert emu.responses() == emu.responses(url)


def test_injected_rate_limit_is_honoured_by_the_retry_handler(
    emu: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=slept.append))  # no real waiting
    client = WebClient(
        token=emu.bot_token,
        base_url=emu.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    emu.inject("chat.postMessage", retry_after=2)

    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    attempts = emu.calls_to("chat.postMessage")
    assert [(c.status, c.injected) for c in attempts] == [(429, True), (200, False)]
    assert len(slept) == 1 and 2 <= slept[0] < 3


def test_injected_rate_limit_without_retries(emu: SlackEmulator, client: WebClient) -> None:
    emu.inject("users.info", status=429)
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="U1")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "1"


def test_injected_server_errors_and_slack_errors(emu: SlackEmulator, client: WebClient) -> None:
    emu.inject("chat.postMessage", status=503)
    emu.inject("chat.postMessage", error="account_inactive")

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="x")
    assert raised.value.response.status_code == 503
    assert _error_of(lambda: client.chat_postMessage(channel="C1", text="x")) == "account_inactive"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert [c.status for c in emu.calls_to("chat.postMessage")] == [503, 200, 200]


def test_injected_500_with_empty_body(emu: SlackEmulator, client: WebClient) -> None:
    emu.inject("*", status=500, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            client.auth_test()
        assert raised.value.response.status_code == 500
    assert client.auth_test()["ok"]


@pytest.mark.deadline
def test_injected_delay_times_the_client_out(emu: SlackEmulator) -> None:
    emu.inject("chat.postMessage", delay=1.0)
    impatient = WebClient(token=emu.bot_token, base_url=emu.base_url, timeout=0.2, retry_handlers=[])  # type: ignore[arg-type]

    started = time.monotonic()
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        impatient.chat_postMessage(channel="C1", text="x")
    assert time.monotonic() - started < 0.9
    assert [c.status for c in emu.calls_to("chat.postMessage")] == [0]  # arrived, not answered yet


def test_wait_for(emu: SlackEmulator, client: WebClient) -> None:
    threading.Timer(0.05, lambda: client.chat_postMessage(channel="C1", text="later")).start()

    assert [c.params["text"] for c in emu.wait_for("chat.postMessage", timeout=2)] == ["later"]
    with pytest.raises(AssertionError, match=re.escape("expected 2 successful chat.postMessage")):
        emu.wait_for("chat.postMessage", count=2, timeout=0.05)


def test_a_bug_in_the_emulator_answers_500_and_is_recorded(emu: SlackEmulator, client: WebClient) -> None:
    def broken(params: Any) -> dict[str, Any]:
        raise KeyError("oops")

    emu.workspace.methods["auth.test"] = broken
    with pytest.raises(SlackApiError) as raised:
        client.auth_test()

    assert raised.value.response.status_code == 500
    assert emu.calls_to("auth.test")[0].status == 500
    assert "KeyError: 'oops'" in emu.server_errors[0]
    emu.server_errors.clear()  # the fixture asserts there are none
    assert client.users_info(user="U1")["ok"]


def test_calls_from_another_process_are_recorded(emu: SlackEmulator) -> None:
    script = (
        "import sys; from slack_sdk import WebClient; "
        "WebClient(sys.argv[1], base_url=sys.argv[2]).chat_postMessage(channel='C1', text='hi')"
    )
    subprocess.run([sys.executable, "-c", script, emu.bot_token, emu.base_url], check=True, timeout=20)

    assert emu.wait_for("chat.postMessage", timeout=1)[0].params["text"] == "hi"


def test_recorded_params_keep_form_encoded_json(emu: SlackEmulator, client: WebClient) -> None:
    client.api_call(
        "chat.postMessage", params={"channel": "C1", "text": "x", "blocks": '[{"type": "divider"}]'}
    )

    call = emu.calls_to("chat.postMessage")[0]
    assert call.params["blocks"] == '[{"type": "divider"}]'
    assert call.blocks == [{"type": "divider"}]
    assert call.headers["Authorization"] == f"Bearer {emu.bot_token}"


def test_enforced_rate_limits() -> None:
    with SlackEmulator(enforce_rate_limits=True) as emulator:
        emulator.add_user("U1")
        emulator.add_channel("C1", "one")
        emulator.add_channel("C2", "two")
        client = WebClient(token=emulator.bot_token, base_url=emulator.base_url, retry_handlers=[])
        dm = client.chat_postMessage(channel="U1", text="1")["channel"]

        for channel in ("U1", dm):  # a DM is limited as its D… channel, however it is addressed
            with pytest.raises(SlackApiError) as raised:
                client.chat_postMessage(channel=channel, text="2")
            assert raised.value.response.status_code == 429
            assert raised.value.response.headers["Retry-After"] == "1"
        assert client.chat_postMessage(channel="C1", text="other channel")["ok"]


def test_rate_limiter_windows() -> None:
    now = [0.0]
    limiter = RateLimiter({"m": (RateLimit(1, 1.0, "channel"), RateLimit(3, 60.0))}, clock=lambda: now[0])
    for channel in ("A", "B", "C"):
        assert limiter.retry_after("m", channel) is None
        limiter.record("m", channel)
        now[0] += 10

    assert limiter.retry_after("m", "D") == 30  # the call at t=0 leaves the 60 s window at t=60
    now[0] = 60.0
    assert limiter.retry_after("m", "D") is None


def test_socket_mode_with_the_sdk_client(emu: SlackEmulator) -> None:
    web = WebClient(token=emu.bot_token, base_url=emu.base_url)
    client = SocketModeClient(app_token=emu.app_token, web_client=web, auto_reconnect_enabled=False)

    def ack(sm_client: SocketModeClient, request: SocketModeRequest) -> None:
        sm_client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload={"text": "ack"}))

    client.socket_mode_request_listeners.append(ack)
    client.connect()
    try:
        assert emu.socket_connected.wait(5)
        fields = sr.slash_command_fields("/initiative", "list", user_id="U1")
        envelope_id = emu.socket_send("slash_commands", fields)
        assert emu.wait_for_socket_ack(envelope_id, timeout=5).payload == {"text": "ack"}
    finally:
        emu.socket_drop_connections()  # closing from the server side spares the client a 3 s read timeout
        client.close()


def test_socket_mode_with_bolt(emu: SlackEmulator) -> None:
    app = App(client=WebClient(token=emu.bot_token, base_url=emu.base_url))

    @app.command("/initiative")
    def handle(ack: Any, command: dict[str, Any]) -> None:
        ack(f"got {command['text']}")

    handler = SocketModeHandler(app, app_token=emu.app_token)
    handler.client.auto_reconnect_enabled = False
    handler.connect()
    try:
        assert emu.socket_connected.wait(5)
        envelope_id = emu.socket_send("slash_commands", sr.slash_command_fields(text="new"))
        assert emu.wait_for_socket_ack(envelope_id, timeout=5).payload == {"text": "got new"}
    finally:
        emu.socket_drop_connections()
        handler.close()


def test_socket_mode_rejects_unknown_tickets(emu: SlackEmulator) -> None:
    connection_url = WebClient(base_url=emu.base_url).apps_connections_open(app_token=emu.app_token)["url"]
    assert connection_url.startswith("ws://127.0.0.1:")
    forged = re.sub(r"ticket=[^&]+", "ticket=forged", connection_url)
    response = httpx.get(
        forged.replace("ws://", "http://"), headers={"Connection": "Upgrade", "Upgrade": "websocket"}
    )
    assert response.status_code == 401
    as_bot = WebClient(base_url=emu.base_url).apps_connections_open
    assert _error_of(lambda: as_bot(app_token=emu.bot_token)) == ("not_allowed_token_type")


# ---- signed request helpers ----------------------------------------------------------------------------

SECRET = "s3cr3t"


def test_signatures_verify_with_slack_sdk() -> None:
    verifier = SignatureVerifier(SECRET)
    body = sr.slash_command_body(text="new Churn model", user_id="U1", trigger_id="1.2.3")

    assert verifier.is_valid_request(body, sr.signed_headers(body, SECRET))
    assert not verifier.is_valid_request(body, sr.signed_headers(body, SECRET, sr.stale_timestamp()))
    assert not verifier.is_valid_request(body, sr.signed_headers(body, SECRET, signature=sr.BAD_SIGNATURE))
    fields = parse_qs(body)
    assert fields["text"] == ["new Churn model"] and fields["trigger_id"] == ["1.2.3"]
    assert set(fields) >= {"token", "team_domain", "channel_name", "api_app_id", "is_enterprise_install"}


@respx.mock
def test_post_signed_sends_exact_bytes_and_retry_headers() -> None:
    route = respx.post("http://bot.test/slack/events").mock(return_value=httpx.Response(200))
    body = sr.event_body({"type": "app_home_opened", "user": "U1", "tab": "home"}, event_id="Ev1")

    sr.post_signed("http://bot.test/slack/events", body, SECRET, retry_num=1, retry_reason="http_timeout")

    sent = route.calls.last.request
    assert sent.content == body.encode() and sent.headers["Content-Type"] == sr.JSON
    assert (sent.headers["X-Slack-Retry-Num"], sent.headers["X-Slack-Retry-Reason"]) == ("1", "http_timeout")
    assert SignatureVerifier(SECRET).is_valid_request(sent.content, dict(sent.headers))


def test_interaction_payload_shapes() -> None:
    on_message = sr.block_actions_payload("approve", "7", message={"ts": "1700000000.000100"})
    in_modal = sr.block_actions_payload("pick", view={"id": "V1", "type": "modal"})
    submitted = sr.view_submission_payload("new_initiative", {"b": {"a": {"value": "x"}}}, "meta", "U1")

    assert on_message["container"]["message_ts"] == "1700000000.000100" and "response_url" in on_message
    assert in_modal["container"] == {"type": "view", "view_id": "V1"} and "response_url" not in in_modal
    assert submitted["view"]["callback_id"] == "new_initiative"
    assert submitted["view"]["state"]["values"]["b"]["a"]["value"] == "x"
    assert parse_qs(sr.interaction_body(submitted))["payload"][0].startswith("{")
