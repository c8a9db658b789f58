"""A local Slack Web API over real HTTP, for end-to-end tests.

Point slack_sdk's `WebClient(base_url=emulator.base_url)` (or a bot subprocess) at it; the test process
reads what arrived from `emulator.calls`. Routes:

- `/api/<method>`: the Web API (form, query-string or JSON arguments, as Slack accepts them);
- `/upload/<file_id>`: the upload URL returned by files.getUploadURLExternal;
- `/response/<id>`: response_urls from `new_response_url()`.

Socket Mode is served on a second port, see `socket_mode.py`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final, Self

from .calls import Answer, Fault, RecordedCall
from .models import SlackApiError, UploadedFile
from .ratelimits import RateLimiter
from .socket_mode import SocketAck, SocketModeServer
from .transport import HttpServer
from .workspace import (
    DEFAULT_CHANNEL_ID,
    DEFAULT_CHANNEL_NAME,
    DEFAULT_USER_ID,
    DEFAULT_USER_NAME,
    TEAM_ID,
    Workspace,
)

APP_TOKEN_METHODS: Final = frozenset({"apps.connections.open"})


class SlackEmulator:
    """An emulated Slack workspace with one bot, served on 127.0.0.1 (random ports) from daemon threads."""

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        team_id: str = TEAM_ID,
        enforce_rate_limits: bool = False,
        *,
        with_defaults: bool = True,
    ) -> None:
        """`with_defaults` adds the user (U0001 "alice") and channel (C0001 "#general", with the bot in it)
        that the builders in requests.py use unless told otherwise."""
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.enforce_rate_limits = enforce_rate_limits
        self.workspace = Workspace(team_id)
        self.bot_user_id = self.workspace.bot_user_id
        self.bot_id = self.workspace.bot_id
        self.app_id = self.workspace.app_id
        self.server_errors: list[str] = []  # tracebacks of emulator bugs; tests may assert it stays empty
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._calls: list[RecordedCall] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._response_urls: dict[str, list[dict[str, Any]]] = {}
        self._response_arrivals: dict[str, list[float]] = {}  # time.perf_counter() of each post, for bench/
        self._token_error: str | None = None
        self._revoked_tokens: dict[str, str] = {}  # old bot tokens, and what Slack answers them
        self._rate_limiter = RateLimiter()
        self._socket = SocketModeServer(self.app_id)
        self._http: HttpServer | None = None
        if with_defaults:
            self.add_user(DEFAULT_USER_ID, DEFAULT_USER_NAME)
            self.add_channel(DEFAULT_CHANNEL_ID, DEFAULT_CHANNEL_NAME)

    # ---- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> Self:
        self._stopping.clear()
        self._http = HttpServer(self)
        self.workspace.http_root = self._http.url
        self._http.thread.start()
        self._socket.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping on an injected delay
        self._socket.stop()
        if self._http is not None:
            self._http.stop()
            self._http = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """e.g. "http://127.0.0.1:PORT"."""
        assert self._http is not None, "the emulator is not running"
        return self._http.url

    @property
    def base_url(self) -> str:
        """The WebClient `base_url`, with the trailing slash slack_sdk expects."""
        return f"{self.url}/api/"

    # ---- workspace setup ------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        real_name: str | None = None,
        display_name: str | None = None,
        tz: str = "Europe/London",
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        email: str | None = None,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        is_stranger: bool = False,
        dnd_until: int | None = None,
    ) -> None:
        """Add a user, or replace one (`deleted=True` again is the account being deactivated)."""
        fields: dict[str, Any] = {"tz": tz, "is_admin": is_admin, "is_owner": is_owner, "is_bot": is_bot}
        fields |= {"deleted": deleted, "email": email, "is_restricted": is_restricted,
                   "is_ultra_restricted": is_ultra_restricted, "is_stranger": is_stranger, "dnd_until": dnd_until}
        fields |= {k: v for k, v in {"real_name": real_name, "display_name": display_name}.items() if v}
        with self._lock:
            self.workspace.add_user(user_id, name, **fields)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        is_member: bool = True,
        is_archived: bool = False,
        *,
        is_private: bool = False,
    ) -> None:
        """Add a channel, or change one: `add_channel(id, name)` again after `is_member=False` is the bot being
        invited."""
        with self._lock:
            self.workspace.add_channel(
                channel_id, name, is_member=is_member, is_archived=is_archived, is_private=is_private
            )

    def deactivate_token(self, error: str = "account_inactive") -> None:
        """From now on every call answers `error`: `account_inactive` (app uninstalled), `token_revoked`, or
        `invalid_auth`."""
        self._token_error = error

    def reinstall(self, bot_token: str | None = None) -> None:
        """The app is installed again: the bot token works (auth.test succeeds). With `bot_token`, Slack issued a
        new one: it works, and the old one is answered `token_revoked` from now on."""
        with self._lock:
            if bot_token is not None and bot_token != self.bot_token:
                self._revoked_tokens.setdefault(self.bot_token, "token_revoked")
                self.bot_token = bot_token
            self._revoked_tokens.pop(self.bot_token, None)
            self._token_error = None

    def revoke_token(self, error: str = "token_revoked") -> None:
        """The bot token is revoked: every call with it answers `error` (`token_revoked`, or `invalid_auth`),
        also after a reinstall, which issues a new token (`reinstall(bot_token=...)`)."""
        with self._lock:
            self._revoked_tokens[self.bot_token] = error

    def new_trigger_id(self) -> str:
        """A trigger_id as an interaction carries; views.open/push accept it once, within 3 seconds."""
        with self._lock:
            return self.workspace.new_trigger_id()

    def age_trigger(self, trigger_id: str, seconds: float) -> None:
        """Make a trigger `seconds` older, instead of sleeping."""
        with self._lock:
            self.workspace.age_trigger(trigger_id, seconds)

    def new_response_url(self) -> str:
        url = f"{self.url}/response/{uuid.uuid4().hex}"
        with self._lock:
            self._response_urls[url] = []
        return url

    def inject(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: float | None = None,
        delay: float | None = None,
        times: int = 1,
        body: str | None = None,
    ) -> None:
        """Make the next `times` calls to `method` ("*" for any method) fail.

        - `retry_after` (or `status=429`): 429 with `Retry-After` and `{"ok": false, "error": "ratelimited"}`;
        - `status` 5xx: that status with `body` (default: empty for 500, an HTML page otherwise);
        - `error`: 200 with `{"ok": false, "error": error}`;
        - `delay`: sleep that long first, then answer normally (or with the fault above).
        """
        if retry_after is None and status == 429:
            retry_after = 1
        if status is None and error is None and retry_after is None and delay is None:
            raise ValueError("inject() needs status, error, retry_after or delay")
        with self._lock:
            self._faults.setdefault(method, deque()).append(
                Fault(status, error, retry_after, delay, body, times)
            )

    # ---- what happened --------------------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    @property
    def warnings(self) -> list[RecordedCall]:
        """Calls Slack answered with a warning, e.g. blocks without a `text` fallback."""
        return [call for call in self.calls if call.warning]

    def clear(self) -> None:
        """Forget recorded calls, response_url posts and socket acks (the workspace state stays)."""
        with self._lock:
            self._calls.clear()
            for posts in self._response_urls.values():
                posts.clear()
            self._response_arrivals.clear()
        self._socket.clear_acks()

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[RecordedCall]:
        """Wait until `count` successful calls to `method` arrived; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            succeeded = [call for call in self.calls_to(method) if call.ok]
            if len(succeeded) >= count:
                return succeeded
            if time.monotonic() >= deadline:
                raise AssertionError(self._summary(method, count, len(succeeded), timeout))
            time.sleep(0.01)

    def wait_for_responses(self, url: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until `count` posts reached the response_url `url`; returns them."""
        deadline = time.monotonic() + timeout
        while len(posts := self.responses(url)) < count:
            if time.monotonic() >= deadline:
                raise AssertionError(f"{len(posts)} of {count} expected posts reached {url} within {timeout} s")
            time.sleep(0.01)
        return posts

    def responses(self, url: str | None = None) -> list[dict[str, Any]]:
        """JSON bodies POSTed to one response_url, or to all of them."""
        with self._lock:
            if url is not None:
                return list(self._response_urls.get(url, []))
            return [post for posts in self._response_urls.values() for post in posts]

    def response_arrivals(self, url: str) -> list[float]:
        """When each post to `url` arrived, in `time.perf_counter()` seconds (CLOCK_MONOTONIC on Linux, so
        comparable with another process's perf_counter on the same machine)."""
        with self._lock:
            return list(self._response_arrivals.get(url, []))

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages as they now stand (after chat.update), oldest first, each with its `channel`."""
        with self._lock:
            stored = [
                {**m, "channel": c} for (c, _), m in self.workspace.messages.items() if channel in (None, c)
            ]
        return sorted(stored, key=lambda m: float(m["ts"]))

    def dm_channel(self, user_id: str) -> str | None:
        """The D… id of the bot's DM with a user, once opened."""
        with self._lock:
            return self.workspace.dm_channel(user_id)

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """Opened, pushed, updated and published views by id, as Slack returned them."""
        with self._lock:
            return dict(self.workspace.views)

    @property
    def home_views(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self.workspace.home_views)

    @property
    def files(self) -> dict[str, UploadedFile]:
        with self._lock:
            return dict(self.workspace.files)

    @property
    def ephemeral_messages(self) -> list[dict[str, Any]]:
        """chat.postEphemeral messages, each with its `channel` and the `user` who alone sees it."""
        with self._lock:
            return list(self.workspace.ephemeral_messages)

    def open_dm(self, user_id: str) -> str:
        """The D… id of the bot's DM with a user, opened if need be (as when the person opens it in Slack)."""
        with self._lock:
            return self.workspace.conversations_open({"users": user_id})["channel"]["id"]

    def show_view(self, view: dict[str, Any], *, replacing: str | None = None) -> dict[str, Any]:
        """A modal that a view_submission's `response_action` (`update` or `push`) shows, checked as Slack checks
        it; `replacing`: the id of the view it updates. Raises SlackApiError as Slack refuses it."""
        with self._lock:
            return self.workspace.show_view(view, replacing=replacing)

    # ---- Socket Mode ----------------------------------------------------------------------------------

    @property
    def socket_connected(self) -> threading.Event:
        """Set while at least one Socket Mode client is connected (and has been sent `hello`)."""
        return self._socket.connected

    @property
    def socket_acks(self) -> list[SocketAck]:
        return self._socket.acks

    def socket_send(
        self, envelope_type: str, payload: dict[str, Any], envelope_id: str | None = None, **retry: Any
    ) -> str:
        """Send an envelope (`slash_commands`, `interactive`, `events_api`...); returns its envelope_id.

        For `events_api`, `retry_attempt=` and `retry_reason=` may be given.
        """
        return self._socket.send(envelope_type, payload, envelope_id, **retry)

    def wait_for_socket_ack(self, envelope_id: str, timeout: float = 5.0) -> SocketAck:
        return self._socket.wait_for_ack(envelope_id, timeout)

    def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send Slack's `disconnect` message, which makes clients reconnect."""
        self._socket.disconnect(reason)

    def socket_drop_connections(self) -> None:
        """Close all Socket Mode connections from the server side, like a network failure.

        slack_sdk's client notices on its next health check (every `ping_interval`, 5 s) and reconnects.

        Also the quick way to end a test: slack_sdk's builtin client takes ~3 s to close on its own,
        waiting for a blocking socket read to time out.
        """
        self._socket.drop_connections()

    # ---- request handling (transport.Backend, called from the HTTP server's threads) ------------------

    def handle_api_call(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> Answer:
        call = RecordedCall(method, params, headers, received_at=time.time())
        with self._lock:
            self._calls.append(call)
            fault = self._take_fault(method)
        if fault is not None and fault.delay:
            self._stopping.wait(fault.delay)  # not under the lock: other calls go on meanwhile
        try:
            with self._lock:
                injected = fault.answer() if fault is not None else None
                answer = injected or self._answer(method, params, headers)
        except Exception:
            call.response, call.status = {"ok": False, "error": "emulator_error"}, 500
            raise
        call.response, call.injected = answer.response, fault is not None
        call.status = answer.status  # last: a call counts as answered once status is set
        return answer

    def handle_upload(self, file_id: str, content: bytes) -> Answer:
        with self._lock:
            received = self.workspace.receive_upload(file_id, content)
        # Slack's upload endpoint answers in plain text.
        return Answer.text(200, f"OK - {len(content)}") if received else Answer.text(404, "file_not_found")

    def handle_response_url(self, path: str, body: bytes) -> Answer:
        try:
            payload = json.loads(body)
        except ValueError:
            return Answer(400, {"ok": False, "error": "invalid_payload"})
        with self._lock:
            posts = self._response_urls.get(f"{self.url}{path}")
            if posts is None:
                return Answer(404, {"ok": False, "error": "no_active_hooks"})
            posts.append(payload)
            self._response_arrivals.setdefault(f"{self.url}{path}", []).append(time.perf_counter())
        return Answer.slack({"ok": True})

    def _answer(self, method: str, params: dict[str, Any], headers: Mapping[str, str]) -> Answer:
        if method not in self.workspace.methods and method not in APP_TOKEN_METHODS:
            return Answer.slack({"ok": False, "error": "unknown_method", "req_method": method})
        if auth_error := self._auth_error(method, params, headers):
            return Answer.slack({"ok": False, "error": auth_error})
        channel = self.workspace.rate_limit_channel(params)
        if self.enforce_rate_limits and (wait := self._rate_limiter.retry_after(method, channel)):
            return Answer.ratelimited(wait)
        try:
            if method == "apps.connections.open":
                response = {"ok": True, "url": self._socket.new_url()}
            else:
                response = {"ok": True, **self.workspace.methods[method](params)}
        except SlackApiError as exc:
            response = {"ok": False, "error": exc.error, **exc.extra}
        if self.enforce_rate_limits:
            # Every call that got through counts, successful or not; DMs count against their D… channel.
            answered_in = response.get("channel")
            self._rate_limiter.record(method, answered_in if isinstance(answered_in, str) else channel)
        return Answer.slack(response)

    def _auth_error(self, method: str, params: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
        authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        token = authorization.removeprefix("Bearer ").strip() or str(params.get("token") or "")
        if not token:
            return "not_authed"
        if token in self._revoked_tokens:
            return self._revoked_tokens[token]
        if token not in (self.bot_token, self.app_token):
            return "invalid_auth"
        if (token == self.app_token) != (method in APP_TOKEN_METHODS):
            return "not_allowed_token_type"
        return self._token_error

    def _take_fault(self, method: str) -> Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.popleft()
                return fault
        return None

    def _summary(self, method: str, count: int, got: int, timeout: float) -> str:
        calls = self.calls
        attempts = [
            f"{c.status} {c.error or 'ok'}" if c.status else "pending" for c in calls if c.method == method
        ]
        seen = Counter(call.method for call in calls)
        return (
            f"expected {count} successful {method} call(s) within {timeout}s, got {got}.\n"
            f"  {method} attempts: {attempts or 'none'}\n  all calls: {dict(seen) or 'none'}"
        )
