"""The emulated workspace's state, and the Web API methods that read and change it.

HTTP, auth, fault injection and rate limits live in `server.py`; everything here is plain Python
that raises `SlackApiError` wherever Slack answers `{"ok": false, "error": ...}`. Not thread-safe on
its own: the emulator serialises calls with its lock.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from .blocks import validate_blocks, validate_view
from .models import Conversation, SlackApiError, Trigger, UploadedFile, User

Params = Mapping[str, Any]
Result = dict[str, Any]

# The emulated workspace's identities. slack_emulator/requests.py builds requests from the same ones,
# so a default request comes from a user, and in a channel, that the emulator knows.
TEAM_ID: Final = "T0001"
APP_ID: Final = "A0001"
BOT_ID: Final = "B0001"
BOT_USER_ID: Final = "UBOT"
DEFAULT_USER_ID: Final = "U0001"
DEFAULT_USER_NAME: Final = "alice"
DEFAULT_CHANNEL_ID: Final = "C0001"
DEFAULT_CHANNEL_NAME: Final = "general"

TRIGGER_TTL_SECONDS: Final = 3.0
MAX_MESSAGE_TEXT: Final = 40_000
MISSING_TEXT_WARNING: Final = "missing_text_in_request"


@dataclass
class Workspace:
    team_id: str = TEAM_ID
    bot_user_id: str = BOT_USER_ID
    bot_id: str = BOT_ID
    app_id: str = APP_ID
    http_root: str = ""  # e.g. "http://127.0.0.1:1234"; set by the server once it has a port
    users: dict[str, User] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    ephemeral_messages: list[dict[str, Any]] = field(default_factory=list)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    home_views: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    _triggers: dict[str, Trigger] = field(default_factory=dict, init=False, repr=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), init=False, repr=False)
    _ts: itertools.count[int] = field(
        default_factory=lambda: itertools.count(100, 100), init=False, repr=False
    )

    def __post_init__(self) -> None:
        self.add_user(self.bot_user_id, "initiative-bot", is_bot=True)
        self.methods: dict[str, Callable[[Params], Result]] = {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.getPermalink": self.chat_get_permalink,
            "conversations.info": self.conversations_info,
            "conversations.list": self.conversations_list,
            "conversations.open": self.conversations_open,
            "users.info": self.users_info,
            "dnd.info": self.dnd_info,
            "users.lookupByEmail": self.users_lookup_by_email,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "files.completeUploadExternal": self.files_complete_upload_external,
        }

    # ---- setup, used by tests through SlackEmulator --------------------------------------------------

    def add_user(self, user_id: str, name: str | None = None, **fields: Any) -> User:
        name = name or user_id.lower()
        fields.setdefault("real_name", name.replace(".", " ").title())
        fields.setdefault("display_name", name)
        user = User(user_id, name, **fields)
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_member: bool = True,
        is_archived: bool = False,
        is_private: bool = False,
    ) -> None:
        self.conversations[channel_id] = Conversation(
            channel_id, name, is_member, is_archived, is_private=is_private
        )

    def new_trigger_id(self) -> str:
        trigger_id = f"{next(self._ids)}.{self.team_id[1:]}.{uuid.uuid4().hex}"
        self._triggers[trigger_id] = Trigger(time.monotonic())
        return trigger_id

    def age_trigger(self, trigger_id: str, seconds: float) -> None:
        self._triggers[trigger_id].issued_at -= seconds

    def receive_upload(self, file_id: str, content: bytes) -> bool:
        upload = self.files.get(file_id)
        if upload is None:
            return False
        upload.content = content
        return True

    def dm_channel(self, user_id: str) -> str | None:
        return next((c.id for c in self.conversations.values() if c.dm_user == user_id), None)

    def rate_limit_channel(self, params: Params) -> str | None:
        """The conversation a call is rate-limited on: DMs count against their D… channel."""
        channel = _text(params, "channel") or _text(params, "channel_id")
        return (self.dm_channel(channel) or channel) if channel else None

    # ---- Web API methods ------------------------------------------------------------------------------

    def auth_test(self, params: Params) -> Result:
        return {
            "url": "https://emulated.slack.com/",
            "team": "Emulated Workspace",
            "user": self.users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def chat_post_message(self, params: Params) -> Result:
        channel = _text(params, "channel")
        if not channel:
            raise SlackApiError("channel_not_found")
        content, warning = _message_content(params)
        conversation = self._conversation_to_post_in(channel, open_dm=True)
        ts = self._next_ts()
        message = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "app_id": self.app_id}
        message |= {"team": self.team_id, "ts": ts, **content}
        if thread_ts := _text(params, "thread_ts"):
            message["thread_ts"] = thread_ts
        self.messages[(conversation.id, ts)] = message
        return {"channel": conversation.id, "ts": ts, "message": copy.deepcopy(message), **warning}

    def chat_update(self, params: Params) -> Result:
        channel, ts = _text(params, "channel"), _text(params, "ts")
        if not channel:
            raise SlackApiError("channel_not_found")
        if not ts:
            raise SlackApiError("invalid_arguments")
        content, warning = _message_content(params)
        # Unlike chat.postMessage, chat.update needs the conversation id: a user id is not resolved to a DM.
        conversation = self._conversation_to_post_in(channel, open_dm=False)
        message = self.messages.get((conversation.id, ts))
        if message is None:
            raise SlackApiError("message_not_found")
        # Slack keeps blocks/attachments that the update leaves out.
        message |= {**content, "edited": {"user": self.bot_user_id, "ts": self._next_ts()}}
        text = message["text"]
        return {
            "channel": conversation.id,
            "ts": ts,
            "text": text,
            "message": copy.deepcopy(message),
            **warning,
        }

    def chat_post_ephemeral(self, params: Params) -> Result:
        channel, user_id = _text(params, "channel"), _text(params, "user")
        if not channel:
            raise SlackApiError("channel_not_found")
        if not user_id:
            raise SlackApiError("invalid_arguments")
        content, warning = _message_content(params)
        conversation = self._conversation_to_post_in(channel, open_dm=True)
        user = self.users.get(user_id)
        if user is None or user.deleted:
            raise SlackApiError("user_not_found")
        ts = self._next_ts()
        self.ephemeral_messages.append({"channel": conversation.id, "user": user_id, "ts": ts, **content})
        return {"message_ts": ts, **warning}

    def chat_get_permalink(self, params: Params) -> Result:
        channel, ts = _text(params, "channel"), _text(params, "message_ts")
        conversation = self._visible_conversation(channel)
        message = self.messages.get((conversation.id, ts)) if ts else None
        if message is None:
            raise SlackApiError("message_not_found")
        link = f"https://emulated.slack.com/archives/{conversation.id}/p{ts.replace('.', '')}"
        if thread_ts := message.get("thread_ts"):
            link += f"?thread_ts={thread_ts}&cid={conversation.id}"
        return {"channel": conversation.id, "permalink": link}

    def conversations_info(self, params: Params) -> Result:
        return {"channel": self._visible_conversation(_text(params, "channel")).to_slack()}

    def conversations_list(self, params: Params) -> Result:
        """Channels by id, a page of `limit` (default 100, at most 1000) from `cursor`. A bot token sees every
        public channel and only the private channels it is in; DMs are not listed (types im/mpim not emulated)."""
        types = {t.strip() for t in (_text(params, "types") or "public_channel").split(",") if t.strip()}
        if not types <= {"public_channel", "private_channel", "im", "mpim"}:
            raise SlackApiError("invalid_types")
        limit_text = _text(params, "limit") or "100"
        if not limit_text.isdigit() or int(limit_text) < 1:
            raise SlackApiError("invalid_limit")
        limit = min(int(limit_text), 1000)
        exclude_archived = _text(params, "exclude_archived").lower() in ("true", "1")
        listed = [
            c
            for c in sorted(self.conversations.values(), key=lambda c: c.id)
            if c.dm_user is None
            and ("private_channel" if c.is_private else "public_channel") in types
            and (c.is_member or not c.is_private)
            and not (exclude_archived and c.is_archived)
        ]
        start = 0
        if cursor := _text(params, "cursor"):
            ids = [c.id for c in listed]
            after = _decode_cursor(cursor)
            if after not in ids:
                raise SlackApiError("invalid_cursor")
            start = ids.index(after) + 1
        page = listed[start : start + limit]
        more = start + limit < len(listed)
        next_cursor = _encode_cursor(page[-1].id) if more and page else ""
        return {
            "channels": [c.to_slack() for c in page],
            "response_metadata": {"next_cursor": next_cursor},
        }

    def conversations_open(self, params: Params) -> Result:
        if channel_id := _text(params, "channel"):
            if channel_id not in self.conversations:
                raise SlackApiError("channel_not_found")
            return {"no_op": True, "already_open": True, "channel": {"id": channel_id}}
        raw_users = params.get("users") or ""
        names = raw_users if isinstance(raw_users, list) else str(raw_users).split(",")
        users = [str(u).strip() for u in names if str(u).strip()]
        if len(users) != 1:
            # Group DMs are not emulated; the bot only opens one-to-one DMs.
            raise SlackApiError("invalid_arguments" if not users else "not_implemented")
        existing = self.dm_channel(users[0])
        conversation = self._open_dm(users[0], unknown_user_error="user_not_found")
        already = {"no_op": True, "already_open": True} if existing else {}
        return {**already, "channel": {"id": conversation.id}}

    def users_info(self, params: Params) -> Result:
        user_id = _text(params, "user")
        if not user_id:
            raise SlackApiError("invalid_arguments")
        user = self.users.get(user_id)
        if user is None:
            raise SlackApiError("user_not_found")
        return {"user": user.to_slack(self.team_id)}

    def dnd_info(self, params: Params) -> Result:
        user = self.users.get(_text(params, "user") or "")
        if user is None:
            raise SlackApiError("user_not_found")
        on = user.dnd_until is not None and user.dnd_until > time.time()
        return {"dnd_enabled": on, "next_dnd_start_ts": 0, "next_dnd_end_ts": user.dnd_until or 0,
                "snooze_enabled": on, **({"snooze_endtime": user.dnd_until} if on else {})}

    def users_lookup_by_email(self, params: Params) -> Result:
        email = _text(params, "email")
        if not email:
            raise SlackApiError("invalid_arguments")
        # Slack matches the address without regard to case; a deactivated account is found, with "deleted": true.
        found = next((u for u in self.users.values() if u.email and u.email.lower() == email.lower()), None)
        if found is None:
            raise SlackApiError("users_not_found")
        return {"user": found.to_slack(self.team_id)}

    def views_open(self, params: Params) -> Result:
        return self._open_modal(params)

    def views_push(self, params: Params) -> Result:
        return self._open_modal(params)

    def views_update(self, params: Params) -> Result:
        view_id, external_id = _text(params, "view_id"), _text(params, "external_id")
        view = _json_param(params, "view", "invalid_arguments")
        if view is None or not (view_id or external_id):
            raise SlackApiError("invalid_arguments")
        current = self.views.get(view_id) if view_id else self._view_by_external_id(external_id)
        if current is None:
            raise SlackApiError("not_found")
        self._check_hash(params, current)
        _check_view(view, current["type"])
        self._check_external_id(view, current["id"])
        updated = self._render_view(view, current["id"], previous=current)
        self.views[current["id"]] = updated
        return {"view": copy.deepcopy(updated)}

    def show_view(self, view: Result, *, replacing: str | None = None) -> Result:
        _check_view(view, "modal")
        previous = self.views.get(replacing) if replacing else None
        view_id = previous["id"] if previous else self._new_id("V")
        self._check_external_id(view, view_id)
        self.views[view_id] = self._render_view(view, view_id, previous=previous)
        return copy.deepcopy(self.views[view_id])

    def views_publish(self, params: Params) -> Result:
        user_id = _text(params, "user_id")
        view = _json_param(params, "view", "invalid_arguments")
        if not user_id or view is None:
            raise SlackApiError("invalid_arguments")
        if user_id not in self.users:
            raise SlackApiError("user_not_found")
        current = self.home_views.get(user_id)
        if current is not None:
            self._check_hash(params, current)
        _check_view(view, "home")
        view_id = current["id"] if current else self._new_id("V")
        published = self._render_view(view, view_id, previous=current)
        self.home_views[user_id] = self.views[view_id] = published
        return {"view": copy.deepcopy(published)}

    def files_get_upload_url_external(self, params: Params) -> Result:
        filename, length = _text(params, "filename"), _text(params, "length")
        if not filename or not length.isdigit() or int(length) <= 0:
            raise SlackApiError("invalid_arguments")
        file_id = self._new_id("F")
        self.files[file_id] = UploadedFile(file_id, filename, int(length))
        return {"upload_url": f"{self.http_root}/upload/{file_id}", "file_id": file_id}

    def files_complete_upload_external(self, params: Params) -> Result:
        items = _json_param(params, "files", "invalid_arguments")
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(i, dict) and "id" in i for i in items)
        ):
            raise SlackApiError("invalid_arguments")
        uploads = [self.files.get(str(item["id"])) for item in items]
        if any(upload is None or upload.content is None for upload in uploads):
            raise SlackApiError("file_not_found")
        channel_id = _text(params, "channel_id") or _text(params, "channels").split(",")[0]
        if channel_id:
            self._conversation_to_post_in(channel_id, open_dm=False)
        shared = []
        for item, upload in zip(items, uploads, strict=True):
            assert upload is not None
            upload.title = item.get("title") or upload.filename
            upload.completed = True
            upload.channel_id = channel_id or None
            upload.thread_ts = _text(params, "thread_ts") or None
            upload.initial_comment = _text(params, "initial_comment") or None
            shared.append(
                {"id": upload.id, "name": upload.filename, "title": upload.title, "size": upload.size}
            )
        return {"files": shared}

    # ---- helpers --------------------------------------------------------------------------------------

    def _conversation_to_post_in(self, channel: str, *, open_dm: bool) -> Conversation:
        if channel[0] in "UW":
            if not open_dm:
                raise SlackApiError("channel_not_found")
            return self._open_dm(channel, unknown_user_error="channel_not_found")
        if channel.startswith("#"):
            conversation = next((c for c in self.conversations.values() if c.name == channel[1:]), None)
        else:
            conversation = self.conversations.get(channel)
        if conversation is None:
            raise SlackApiError("channel_not_found")
        if conversation.is_archived:
            raise SlackApiError("is_archived")
        if not conversation.is_member:
            raise SlackApiError("not_in_channel")
        return conversation

    def _visible_conversation(self, channel: str) -> Conversation:
        """A conversation the bot token may look at: a private channel the bot is not in is `channel_not_found`,
        as on Slack."""
        conversation = self.conversations.get(channel) if channel else None
        if conversation is None or (conversation.is_private and not conversation.is_member):
            raise SlackApiError("channel_not_found")
        return conversation

    def _open_dm(self, user_id: str, *, unknown_user_error: str) -> Conversation:
        user = self.users.get(user_id)
        if user is None:
            raise SlackApiError(unknown_user_error)
        if user.id == self.bot_user_id:
            raise SlackApiError("cannot_dm_bot")
        if user.deleted:
            raise SlackApiError("user_disabled")
        if existing := self.dm_channel(user_id):
            return self.conversations[existing]
        conversation = Conversation(self._new_id("D"), name=user_id, dm_user=user_id)
        self.conversations[conversation.id] = conversation
        return conversation

    def _open_modal(self, params: Params) -> Result:
        trigger_id = _text(params, "trigger_id")
        view = _json_param(params, "view", "invalid_arguments")
        if not trigger_id or view is None:
            raise SlackApiError("invalid_arguments")
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise SlackApiError("invalid_trigger_id")
        if trigger.used or time.monotonic() - trigger.issued_at > TRIGGER_TTL_SECONDS:
            raise SlackApiError("expired_trigger_id")
        _check_view(view, "modal")
        view_id = self._new_id("V")
        self._check_external_id(view, view_id)
        trigger.used = True  # only a successful call consumes the trigger
        self.views[view_id] = self._render_view(view, view_id)
        return {"view": copy.deepcopy(self.views[view_id])}

    def _render_view(
        self, view: dict[str, Any], view_id: str, previous: dict[str, Any] | None = None
    ) -> Result:
        """The view as Slack returns it: what was sent, plus the fields Slack fills in."""
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "previous_view_id": previous.get("previous_view_id") if previous else None,
            "root_view_id": previous["root_view_id"] if previous else view_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _view_by_external_id(self, external_id: str) -> dict[str, Any] | None:
        return next((v for v in self.views.values() if v["external_id"] == external_id), None)

    def _check_external_id(self, view: dict[str, Any], view_id: str) -> None:
        external_id = view.get("external_id")
        other = self._view_by_external_id(external_id) if external_id else None
        if other is not None and other["id"] != view_id:
            raise SlackApiError("duplicate_external_id")

    @staticmethod
    def _check_hash(params: Params, current: dict[str, Any]) -> None:
        sent_hash = _text(params, "hash")
        if sent_hash and sent_hash != current["hash"]:
            raise SlackApiError("hash_conflict")

    def _new_id(self, prefix: Literal["D", "V", "F"]) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _next_ts(self) -> str:
        # Unique and increasing, in Slack's "seconds.micros" shape: 1700000000.000100, 1700000000.000200, ...
        micros = next(self._ts)
        return f"{1_700_000_000 + micros // 1_000_000}.{micros % 1_000_000:06d}"


def _message_content(params: Params) -> tuple[Result, Result]:
    """The text/blocks/attachments of a chat.* call, validated; plus Slack's warning when text is missing."""
    text = _text(params, "text")
    blocks = _json_param(params, "blocks", "invalid_blocks_format")
    attachments = _json_param(params, "attachments", "invalid_attachments")
    if blocks is not None and not isinstance(blocks, list):
        raise SlackApiError("invalid_blocks_format")
    if not (text or blocks or attachments):
        raise SlackApiError("no_text")
    if len(text) > MAX_MESSAGE_TEXT:
        raise SlackApiError("msg_too_long")
    if blocks is not None and (errors := validate_blocks(blocks, "message")):
        messages = [f"[ERROR] {error}" for error in errors]
        raise SlackApiError("invalid_blocks", errors=errors, response_metadata={"messages": messages})
    content: Result = {"text": text}
    if blocks is not None:
        content["blocks"] = blocks
    if attachments is not None:
        content["attachments"] = attachments
    warning: Result = {}
    if blocks and not text:
        warning = {"warning": MISSING_TEXT_WARNING, "response_metadata": {"warnings": [MISSING_TEXT_WARNING]}}
    return content, warning


def _check_view(view: object, surface: Literal["modal", "home"]) -> None:
    # Slack answers invalid_arguments (not invalid_blocks) for bad views, explained in response_metadata.
    if errors := validate_view(view, surface):
        raise SlackApiError(
            "invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
        )


def _encode_cursor(after_id: str) -> str:
    # Slack's cursors are opaque base64 strings such as "dGVhbTpDMDYxRkE1UEI="; a client must pass them back as is.
    return base64.b64encode(f"next:{after_id}".encode()).decode()


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor, validate=True).decode().removeprefix("next:")
    except (ValueError, UnicodeDecodeError):
        return ""


def _text(params: Params, name: str) -> str:
    value = params.get(name)
    return "" if value is None else str(value)


def _json_param(params: Params, name: str, error: str) -> Any:
    """A JSON argument: already decoded in a JSON body, a JSON string in a form body."""
    value = params.get(name)
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise SlackApiError(error) from None
