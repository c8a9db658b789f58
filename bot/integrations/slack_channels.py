"""Channels as people type them (`#ai-portfolio`, `ai-portfolio`, `<#C012AB3CD|ai-portfolio>` or `C012AB3CD`),
turned into the channel's ID, and checked the moment they are set: the channel exists, is not archived, and the
bot is in it. The one place that does this, for the settings read at start-up (DIGEST_CHANNEL), the digest
commands of the CLI and `/initiative digest add|edit`; what it hands on is a checked ID, which is what is stored.

Names are resolved with `conversations.list` (channels:read, and groups:read for private channels, which a bot
sees only once it is in them), IDs checked with `conversations.info`. Both are read-only, and neither may run
inside a database transaction: a large workspace takes several pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.config import Settings, SettingsError

INVITE = "/invite @Initiative Bot"
PAGE_SIZE = 1000  # conversations.list's most per page; Slack may return fewer
CHANNEL_TYPES = "public_channel,private_channel"
LOOKUP_TIMEOUT = 10
_ID = re.compile(r"^[CG][A-Z0-9]{2,30}$")
_LINK = re.compile(r"^<#([CG][A-Z0-9]{2,30})(?:\|([^>]*))?>$")
# Slack's channel names: lower-case letters, digits, hyphens and underscores (other scripts' letters too).
_NAME = re.compile(r"^#?([^\s#<>@,]{1,80})$")


@dataclass(frozen=True)
class Channel:
    id: str
    name: str

    def __str__(self) -> str:
        return f"#{self.name}"


class ChannelRefused(Exception):
    """The typed channel cannot be used; the message says why and what to do, in one or two sentences."""


class SlackChannels:
    """Finds and checks channels with the bot's token."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def find(self, typed: str) -> Channel:
        """The channel `typed` names, if it exists, is not archived and has the bot in it; else ChannelRefused."""
        typed = (typed or "").strip()
        if link := _LINK.match(typed):
            return self._by_id(link.group(1), shown=f"#{link.group(2)}" if link.group(2) else link.group(1))
        if _ID.match(typed):
            return self._by_id(typed, shown=typed)
        if name := _NAME.match(typed):
            return self._by_name(name.group(1).lower())
        raise ChannelRefused(f"'{typed[:40]}' is not a channel; give its name, like #ai-portfolio, or its ID, "
                             f"like C012AB3CD.")

    def names_of(self, channel_ids: list[str]) -> dict[str, str]:
        """`#name` for each ID Slack still shows the bot; an ID it cannot look up is left out (shown as is)."""
        names = {}
        for channel_id in dict.fromkeys(channel_ids):
            try:
                names[channel_id] = f"#{self.client.conversations_info(channel=channel_id)['channel']['name']}"
            except (SlackApiError, SlackClientError, OSError, KeyError):
                continue
        return names

    def _by_id(self, channel_id: str, *, shown: str) -> Channel:
        try:
            channel = self.client.conversations_info(channel=channel_id)["channel"]
        except SlackApiError as exc:
            if exc.response.get("error") == "channel_not_found":
                raise ChannelRefused(f"Slack has no channel {shown} that the bot can see. If it is private, "
                                     f"type {INVITE} in it, then try again.") from None
            raise _unavailable(exc) from None
        except (SlackClientError, OSError) as exc:
            raise _unavailable(exc) from None
        return _usable(channel)

    def _by_name(self, name: str) -> Channel:
        cursor: str | None = None
        try:
            while True:
                page = self.client.conversations_list(types=CHANNEL_TYPES, exclude_archived=True,
                                                      limit=PAGE_SIZE, cursor=cursor)
                for channel in page.get("channels") or []:
                    if channel.get("name") == name:
                        return _usable(channel)
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
        except SlackApiError as exc:
            raise _unavailable(exc) from None
        except (SlackClientError, OSError) as exc:
            raise _unavailable(exc) from None
        raise ChannelRefused(f"There is no channel #{name} that the bot can see. Check the name; if the channel "
                             f"is private, type {INVITE} in it, then try again.")


def _usable(channel: dict[str, Any]) -> Channel:
    found = Channel(id=str(channel["id"]), name=str(channel.get("name") or channel["id"]))
    if channel.get("is_archived"):
        raise ChannelRefused(f"{found} is archived; pick another channel, or unarchive it first.")
    if not channel.get("is_member"):
        raise ChannelRefused(f"The bot is not in {found}. In that channel, type {INVITE}, then try again.")
    return found


def _unavailable(exc: Exception) -> ChannelRefused:
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error") or "")
        if error == "missing_scope":
            return ChannelRefused("The Slack app may not look up channels (missing_scope): add channels:read and "
                                  "groups:read as in manifest.yml, reinstall the app, then try again.")
        return ChannelRefused(f"Slack could not check the channel ({error}); try again in a minute.")
    return ChannelRefused(f"Slack could not be reached to check the channel ({type(exc).__name__}); try again.")


def client_for(settings: Settings) -> WebClient:
    """The bot's Web API client for looking channels up (one retry after a 429, as Slack asks); SettingsError
    without a bot token."""
    if not settings.slack_bot_token:
        raise SettingsError("SLACK_BOT_TOKEN is not set: expected the bot token, with which the bot checks that it "
                            "is in the channel")
    return WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=LOOKUP_TIMEOUT,
                     retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])


def with_checked_channels(settings: Settings) -> Settings:
    """The settings with every channel setting (DIGEST_CHANNEL) resolved to a checked ID, for a process that is
    starting; SettingsError, naming the variable, for a channel that cannot be used."""
    if not settings.digest_channel:
        return settings
    try:
        channel = SlackChannels(client_for(settings)).find(settings.digest_channel)
    except ChannelRefused as exc:
        raise SettingsError(f"DIGEST_CHANNEL={settings.digest_channel} is refused: {exc}") from None
    return settings.model_copy(update={"digest_channel": channel.id})
