"""The playground's running bot: the Slack emulator, the bot served over HTTP against it (as `serve` runs it, with
its outbox sender), a cast of people, and what each of them sees.

Everything a person does on the page reaches the bot as Slack would send it: signed slash commands, `block_actions`
and `view_submission` payloads (slack_emulator.requests), with trigger_ids and response_urls that the emulator
issued. What the bot sends back is read from the emulator: messages, ephemeral messages and response_url posts
(each shown only to whom Slack shows it), modals (a stack per person), App Home, uploaded files, and every call the
emulator refused, which the page shows as a red notice.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from socketserver import ThreadingMixIn
from time import monotonic, sleep
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sqlmodel import delete

from bot.adapters.digest import AlreadyPosted, advance_runs, digest_tick, start_run
from bot.adapters.nudges import run_sweep
from bot.app import create_app
from bot.config import Settings
from bot.delivery.sender import OutboxSender, deliver_pending, make_client
from bot.playground.sample import ADMIN, CHANNELS, PEOPLE, PORTFOLIO_CHANNEL, SAMPLE_TEAM, seed_people, seed_portfolio
from bot.services.business_days import at_local, local_date, next_business_day
from bot.services.digest.service import ensure_default_digests, get_digest
from bot.views.plain_text import EMOJI, Reader, format_date, render_mrkdwn
from bot.web import EVENTS_PATH, WebApp
from bot.wiring import build_runtime
from slack_emulator import SlackEmulator
from slack_emulator.models import SlackApiError
from slack_emulator.requests import (
    block_actions_payload,
    event_body,
    interaction_body,
    post_signed,
    slash_command_body,
    view_submission_payload,
)
from storage.migrate import upgrade
from storage.models import DigestRun, OutboxMessage
from storage.types import utcnow

GENERAL_CHANNEL = "C0GENERAL"
OUTSIDER = "U0OLLY"
RUN_SETTLES_WITHIN = 10.0  # seconds "Post the weekly digest now" waits for its text, thread replies and chart


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str  # as Slack shows them
    role: str  # what they are in the playground's story


CAST = (
    Person(ADMIN, PEOPLE[ADMIN], "admin"),
    Person("U0MARIA", PEOPLE["U0MARIA"], "business owner"),
    Person("U0DEV", PEOPLE["U0DEV"], "data owner"),
    Person("U0ENG", PEOPLE["U0ENG"], "engineering owner"),
    Person("U0COMP", PEOPLE["U0COMP"], "compliance owner"),
    Person(OUTSIDER, "Olly (Marketing)", "outsider"),
)
NAMES = {person.user_id: person.name for person in CAST}
SLACK_CHANNELS = {GENERAL_CHANNEL: "general", **CHANNELS}
_DATE_TOKEN = re.compile(r"<!date\^[^<>\n]+>")


@dataclass
class Entry:
    """One thing shown in a conversation. A message the bot posted is read from the emulator when shown (so
    chat.update shows); ephemeral messages and response_url answers carry their content and `visible_to`."""

    seq: int
    channel: str
    ts: str = ""
    visible_to: str | None = None  # None: everyone who can see the conversation
    content: dict[str, Any] = field(default_factory=dict)
    live: bool = False
    file_id: str | None = None
    thread_ts: str | None = None
    deleted: bool = False


@dataclass(frozen=True)
class Origin:
    """Where a response_url was handed out: to whom, in which conversation, and for which message (a click)."""

    user: str
    channel: str
    entry: Entry | None = None


class PlaygroundStack:
    """One run of the bot and its emulator on a fresh database; `close()` ends it."""

    def __init__(self, settings: Settings, *, database: Path, sample: bool) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        self.lock = threading.RLock()
        self.emulator = SlackEmulator(team_id=SAMPLE_TEAM, with_defaults=False).start()
        for person in CAST:
            self.emulator.add_user(person.user_id, _handle(person.user_id), real_name=person.name,
                                   display_name=person.name, tz=settings.default_timezone,
                                   is_admin=person.user_id == ADMIN)
        for channel_id, name in SLACK_CHANNELS.items():
            self.emulator.add_channel(channel_id, name)
        self.signing_secret = secrets.token_hex(16)  # this run's only: nothing else can sign for it
        self.settings = settings.model_copy(update={
            "slack_api_url": self.emulator.base_url, "slack_bot_token": self.emulator.bot_token,
            "slack_app_token": None, "slack_signing_secret": self.signing_secret,
            "digest_channel": PORTFOLIO_CHANNEL, "admin_user_ids": frozenset({ADMIN}), "slack_team_id": SAMPLE_TEAM,
        })
        self.runtime = build_runtime(self.settings, database_url=f"sqlite:///{database}")
        upgrade(self.runtime.engine)
        with self.runtime.transaction() as session:
            seed_people(session)
            if sample:
                seed_portfolio(session, now=utcnow())
        if sample:  # the sample's history happened before the playground started: nobody is told of it now
            with self.runtime.transaction() as session:
                session.exec(delete(OutboxMessage))
        self.app = create_app(self.runtime, workspace=SAMPLE_TEAM)
        self._server = make_server("127.0.0.1", 0, WebApp(self.app, self.runtime), _ThreadingWSGIServer,
                                   _QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="playground-bot", daemon=True)
        self._thread.start()
        self.events_url = f"http://127.0.0.1:{self._server.server_port}{EVENTS_PATH}"
        self.clock_offset = timedelta(0)
        # The outbox is delivered on the playground's clock: messages a job queues for "tomorrow" go out at once
        # once the clock is moved on, and no claim looks lapsed to a sender on another clock.
        self.sender = OutboxSender(self.runtime, clock=self.now)
        self.sender.start()
        self.client = make_client(self.settings)
        self.notices: list[dict[str, Any]] = []  # what the emulator refused, and what the bot failed to answer
        self._entries: list[Entry] = []
        self._seq = itertools.count(1)
        self._calls_seen = 0
        self._origins: dict[str, Origin] = {}  # response_url -> where it was handed out
        self._posts_seen: dict[str, int] = {}
        self._trigger_users: dict[str, str] = {}
        self._modals: dict[str, list[str]] = {}  # person -> their stack of view ids, top last
        self._files_seen: set[str] = set()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.app.drain()
        self.sender.stop()
        self.runtime.engine.dispose()
        self.emulator.stop()

    def now(self) -> datetime:
        """The playground's clock: real time, moved on by the page's "next working morning"."""
        return utcnow() + self.clock_offset

    # ---- what people do ----------------------------------------------------------------------------------

    def command(self, user: str, channel: str, text: str) -> None:
        """`/initiative <text>` typed by `user` in `channel`."""
        response_url = self._response_url(Origin(user, channel))
        body = slash_command_body("/initiative", _as_slack_sends(text), user_id=user, user_name=_handle(user),
                                  team_id=SAMPLE_TEAM, channel_id=channel, channel_name=self.channel_name(channel),
                                  response_url=response_url, trigger_id=self._trigger(user))
        response = post_signed(self.events_url, body, self.signing_secret)
        if response.status_code != 200:
            self._notice("/initiative", f"the app answered HTTP {response.status_code}")
        elif response.content:  # an acknowledgement with a message: shown to the person only, as Slack does
            self._add(Entry(0, channel, visible_to=user, content=_json_or_text(response.text)))

    def click(self, user: str, action: Mapping[str, Any], *, entry_seq: int | None = None, surface: str = "",
              state: Mapping[str, Any] | None = None) -> None:
        """A click on an element of a message (`entry_seq`), of the person's open modal or of their App Home."""
        extra = {k: v for k, v in action.items() if k in ("selected_option", "selected_options", "selected_date",
                                                          "selected_user", "selected_conversation")}
        options: dict[str, Any] = {"action_type": str(action.get("type", "button")),
                                   "block_id": str(action.get("block_id", "")), "action": extra,
                                   "user_id": user, "user_name": _handle(user), "team_id": SAMPLE_TEAM,
                                   "trigger_id": self._trigger(user), "state_values": state or {}}
        if entry_seq is not None:
            entry = next((e for e in self._entries if e.seq == entry_seq), None)
            if entry is None:
                raise LookupError(f"no message {entry_seq}")
            options |= {"channel_id": entry.channel, "channel_name": self.channel_name(entry.channel),
                        "message": {"ts": entry.ts, **self.content_of(entry)},
                        "response_url": self._response_url(Origin(user, entry.channel, entry))}
        else:
            view = self.modal(user) if surface == "modal" else self.emulator.home_views.get(user)
            if view is None:
                return
            options["view"] = view
        payload = block_actions_payload(str(action["action_id"]), action.get("value"), **options)
        self._interact(payload)

    def submit(self, user: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """The person's modal submitted with `values` (Slack's `state.values`); returns the field errors the bot
        sent back, if any."""
        view = self.modal(user)
        if view is None:
            return {}
        payload = view_submission_payload(view["callback_id"], values, view.get("private_metadata", ""), user,
                                          user_name=_handle(user), team_id=SAMPLE_TEAM, view=view,
                                          trigger_id=self._trigger(user))
        answer = self._interact(payload)
        action = answer.get("response_action")
        with self.lock:
            stack = self._modals.setdefault(user, [])
            if action == "errors":
                return dict(answer.get("errors") or {})
            if action in ("update", "push"):
                try:
                    shown = self.emulator.show_view(answer["view"], replacing=stack[-1] if action == "update" else None)
                except SlackApiError as exc:
                    self._notice(f"view_submission response_action={action}", exc.error, exc.extra)
                    return {}
                if action == "push":
                    stack.append(shown["id"])
            elif action == "clear":
                stack.clear()
            elif stack:
                stack.pop()
        return {}

    def close_modal(self, user: str) -> None:
        with self.lock:
            stack = self._modals.get(user, [])
            if stack:
                stack.pop()

    def open_home(self, user: str) -> None:
        """The person opens the bot's App Home tab: Slack sends `app_home_opened`."""
        event = {"type": "app_home_opened", "user": user, "channel": self.emulator.open_dm(user), "tab": "home",
                 "event_ts": f"{self.now().timestamp():.6f}"}
        response = post_signed(self.events_url, event_body(event, team_id=SAMPLE_TEAM), self.signing_secret)
        if response.status_code != 200:
            self._notice("app_home_opened", f"the app answered HTTP {response.status_code}")

    # ---- the clock and the scheduled jobs ----------------------------------------------------------------

    def run_nudges(self) -> str:
        result = run_sweep(self.runtime, now=self.now(), client=self.client)
        sent = sum(len(team.plan.notices) for team in result.teams)
        return f"Nudge sweep as of {self.now():%a %d %b %H:%M} UTC: {sent} reminder(s) sent."

    def post_digest(self) -> str:
        """This week's digest, posted now with its chart (as `initiative-bot digest --post` does)."""
        with self.runtime.transaction() as session:
            ensure_default_digests(session, self.settings)
            digest_id = get_digest(session, team_id=SAMPLE_TEAM).id
        assert digest_id is not None
        try:
            run_id = start_run(self.runtime, digest_id=digest_id, as_of=self.now()).id
        except AlreadyPosted:
            return "This week's digest is already posted; move the clock on to next week for the next one."
        # The background sender may be the one to deliver the text and its thread replies; the chart follows them
        # (as the scheduler's digest tick would do it): advance until the run is settled, or a few seconds passed.
        deadline = monotonic() + RUN_SETTLES_WITHIN
        while not self._run_settled(run_id) and monotonic() < deadline:
            deliver_pending(self.runtime, self.client, now=self.now)
            advance_runs(self.runtime, self.client, now=self.now())
            sleep(0.05)
        return f"Digest posted to #{SLACK_CHANNELS[PORTFOLIO_CHANNEL]}."

    def _run_settled(self, run_id: int | None) -> bool:
        with self.runtime.read() as session:
            run = session.get(DigestRun, run_id)
            return run is None or run.state == "failed" or run.chart_state in ("uploaded", "failed")

    def next_morning(self) -> str:
        """Move the clock on to the next working morning (10:00, DEFAULT_TIMEZONE), when reminders go out, then run
        what the scheduler would have run by then: the nudge sweep and the digest tick."""
        zone = self.settings.default_zone
        morning = at_local(next_business_day(local_date(self.now(), zone)), time(10, 0), zone)
        self.clock_offset = morning - utcnow()
        said = self.run_nudges()
        digest_tick(self.runtime, self.client, now=self.now())
        deliver_pending(self.runtime, self.client, now=self.now)
        digest_tick(self.runtime, self.client, now=self.now())  # the chart, once the text is delivered
        return said

    # ---- what a person sees ------------------------------------------------------------------------------

    def channel_name(self, channel: str) -> str:
        return SLACK_CHANNELS.get(channel, "directmessage")

    def modal(self, user: str) -> dict[str, Any] | None:
        self.refresh()
        with self.lock:
            stack = self._modals.get(user)
            return self.emulator.views.get(stack[-1]) if stack else None

    def content_of(self, entry: Entry) -> dict[str, Any]:
        if entry.live and not entry.content:
            message = next((m for m in self.emulator.messages(entry.channel) if m["ts"] == entry.ts), {})
            return {k: message[k] for k in ("text", "blocks", "edited") if k in message}
        return entry.content

    def view_of(self, user: str) -> dict[str, Any]:
        """Everything `user` sees now, for the page: conversations, messages, their modal and App Home."""
        if user not in NAMES:
            raise LookupError(f"nobody called {user!r} is in the playground")
        self.refresh()
        reader = Reader(zone=self.settings.default_zone, people=NAMES, channels=SLACK_CHANNELS, now=self.now())
        dm = self.emulator.dm_channel(user) or self.emulator.open_dm(user)
        with self.lock:
            visible = [e for e in self._entries if not e.deleted and e.visible_to in (None, user)
                       and (e.channel in SLACK_CHANNELS or e.channel == dm)]
            messages = [_dated({"seq": e.seq, "channel": "dm" if e.channel == dm else e.channel, "ts": e.ts,
                                "thread_ts": e.thread_ts, "ephemeral": e.visible_to is not None,
                                "file": self._file(e.file_id), **self.content_of(e)}, reader) for e in visible]
            modal = self.modal(user)
            home = self.emulator.home_views.get(user)
            return {
                "people": [{"id": p.user_id, "name": p.name, "role": p.role} for p in CAST],
                "channels": [{"id": cid, "name": name} for cid, name in SLACK_CHANNELS.items()],
                "emoji": EMOJI,
                "names": {**NAMES, **{cid: name for cid, name in SLACK_CHANNELS.items()}},
                "messages": messages,
                "modal": _dated(modal, reader) if modal else None,
                "home": _dated(home, reader) if home else None,
                "notices": list(self.notices),
                "clock": f"{self.now():%a %d %b %Y %H:%M} UTC",
            }

    def file_content(self, file_id: str) -> bytes | None:
        upload = self.emulator.files.get(file_id)
        return upload.content if upload is not None and upload.completed else None

    # ---- reading what reached the emulator ---------------------------------------------------------------

    def refresh(self) -> None:
        """Take in, in order, the calls the emulator answered and the posts to response_urls since last time."""
        with self.lock:
            calls = self.emulator.calls
            while self._calls_seen < len(calls) and calls[self._calls_seen].status:
                self._take_call(calls[self._calls_seen])
                self._calls_seen += 1
            for url, origin in self._origins.items():
                posts = self.emulator.responses(url)
                for post in posts[self._posts_seen.get(url, 0):]:
                    self._take_response(post, origin)
                self._posts_seen[url] = len(posts)

    def _take_call(self, call: Any) -> None:
        if not call.ok:
            if not call.injected:
                self._notice(call.method, call.error or f"HTTP {call.status}", call.response)
            return
        method, response = call.method, call.response
        if method == "chat.postMessage":
            message = response["message"]
            self._add(Entry(0, response["channel"], ts=message["ts"], live=True, thread_ts=message.get("thread_ts")))
        elif method == "chat.postEphemeral":
            content = {"text": call.params.get("text", ""), "blocks": call.blocks}
            channel = self._conversation(str(call.params.get("channel", "")))
            self._add(Entry(0, channel, ts=response["message_ts"], visible_to=str(call.params["user"]),
                            content=content))
        elif method == "files.completeUploadExternal":
            for shared in response["files"]:
                upload = self.emulator.files[shared["id"]]
                if upload.channel_id and upload.id not in self._files_seen:
                    self._files_seen.add(upload.id)
                    self._add(Entry(0, upload.channel_id, file_id=upload.id, thread_ts=upload.thread_ts,
                                    content={"text": upload.initial_comment or ""}))
        elif method in ("views.open", "views.push"):
            user = self._trigger_users.get(str(call.params.get("trigger_id")))
            if user is not None:
                stack = self._modals.setdefault(user, [])
                if method == "views.open":
                    stack.clear()
                stack.append(response["view"]["id"])

    def _take_response(self, post: dict[str, Any], origin: Origin) -> None:
        content = {k: post[k] for k in ("text", "blocks") if k in post}
        target = origin.entry
        if target is not None and post.get("delete_original"):
            target.deleted = True
        elif target is not None and post.get("replace_original"):
            target.content = content  # an edited channel message stays visible to all; an ephemeral one, to one
        else:
            everyone = post.get("response_type") == "in_channel"
            self._add(Entry(0, origin.channel, visible_to=None if everyone else origin.user, content=content))

    def _add(self, entry: Entry) -> None:
        with self.lock:
            entry.seq = next(self._seq)
            self._entries.append(entry)

    def _notice(self, where: str, error: str, details: Mapping[str, Any] | None = None) -> None:
        messages = ((details or {}).get("response_metadata") or {}).get("messages") or []
        with self.lock:
            self.notices.append({"where": where, "error": error, "messages": list(messages)})

    def _conversation(self, channel: str) -> str:
        return (self.emulator.dm_channel(channel) or channel) if channel[:1] in "UW" else channel

    def _file(self, file_id: str | None) -> dict[str, Any] | None:
        upload = self.emulator.files.get(file_id) if file_id else None
        return {"id": upload.id, "title": upload.title or upload.filename} if upload else None

    def _trigger(self, user: str) -> str:
        trigger_id = self.emulator.new_trigger_id()
        with self.lock:
            self._trigger_users[trigger_id] = user
        return trigger_id

    def _response_url(self, origin: Origin) -> str:
        url = self.emulator.new_response_url()
        with self.lock:
            self._origins[url] = origin
        return url

    def _interact(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        response = post_signed(self.events_url, interaction_body(payload), self.signing_secret)
        if response.status_code != 200:
            self._notice(str(payload.get("type")), f"the app answered HTTP {response.status_code}")
            return {}
        return _json_or_text(response.text) if response.content else {}


def _handle(user: str) -> str:
    return NAMES.get(user, user).split(" ")[0].lower()


def _as_slack_sends(typed: str) -> str:
    """Command text as Slack sends it: &, < and > escaped, except in the mentions a client inserts (<@U…>, <#C…>)."""
    parts = re.split(r"(<[@#][A-Z0-9]+(?:\|[^<>]*)?>)", typed)
    return "".join(part if index % 2 else part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                   for index, part in enumerate(parts))


def _json_or_text(body: str) -> dict[str, Any]:
    try:
        decoded = json.loads(body)
    except ValueError:
        return {"text": body}
    return decoded if isinstance(decoded, dict) else {"text": body}


def _dated(payload: Any, reader: Reader) -> Any:
    """`payload` with each `<!date^…>` of its mrkdwn, and each `date` of its rich text (as `text`), written out in
    the reader's zone, as their Slack client shows them."""
    if isinstance(payload, str):
        return _DATE_TOKEN.sub(lambda m: render_mrkdwn(m.group(0), reader), payload)
    if isinstance(payload, Mapping):
        if payload.get("type") == "date" and isinstance(payload.get("timestamp"), int):
            try:
                moment = datetime.fromtimestamp(payload["timestamp"], UTC)
            except (OverflowError, OSError, ValueError):  # no such moment: the page shows the fallback
                return payload
            return {**payload, "text": format_date(moment, str(payload.get("format", "")), reader)}
        return {key: _dated(value, reader) for key, value in payload.items()}
    if isinstance(payload, list):
        return [_dated(value, reader) for value in payload]
    return payload


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # the bot logs what matters; the stdlib would log every request
