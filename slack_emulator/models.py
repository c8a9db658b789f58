"""The workspace's objects: users, conversations, uploaded files, triggers; and Slack's error answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

# zoneinfo only knows abbreviations; Slack shows the long names.
_TZ_LABELS: Final = {
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "UTC": "Coordinated Universal Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "IST": "India Standard Time",
    "JST": "Japan Standard Time",
}


class SlackApiError(Exception):
    """Slack's `{"ok": false, "error": error, **extra}` answer."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class User:
    id: str
    name: str
    real_name: str
    display_name: str
    tz: str = "Europe/London"
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    deleted: bool = False
    email: str | None = None  # Slack shows it to apps with users:read.email
    is_restricted: bool = False  # a multi-channel guest
    is_ultra_restricted: bool = False  # a single-channel guest
    is_stranger: bool = False  # from another organisation, met through a Slack Connect channel
    dnd_until: int | None = None  # epoch seconds Do Not Disturb ends at, while it is on

    def to_slack(self, team_id: str) -> dict[str, Any]:
        """The `user` object of users.info; the tz offset and label are those in effect now."""
        now = datetime.now(ZoneInfo(self.tz))
        offset = now.utcoffset()
        abbreviation = now.tzname() or ""
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": _TZ_LABELS.get(abbreviation, abbreviation),
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": False,
            "is_restricted": self.is_restricted or self.is_ultra_restricted,
            "is_ultra_restricted": self.is_ultra_restricted,
            **({"is_stranger": True} if self.is_stranger else {}),
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": {
                "display_name": self.display_name,
                "display_name_normalized": self.display_name,
                "real_name": self.real_name,
                "real_name_normalized": self.real_name,
                "team": team_id,
                **({"email": self.email} if self.email else {}),
            },
        }


@dataclass
class Conversation:
    id: str
    name: str
    is_member: bool = True
    is_archived: bool = False
    is_private: bool = False
    dm_user: str | None = None

    def to_slack(self) -> dict[str, Any]:
        """The channel object of conversations.info and conversations.list, as a bot token sees it."""
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_member": self.is_member,
            "created": 1_700_000_000,
        }


@dataclass
class UploadedFile:
    """A file announced with files.getUploadURLExternal; `content` is set once its bytes are POSTed."""

    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    completed: bool = False
    channel_id: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None

    @property
    def size(self) -> int | None:
        return None if self.content is None else len(self.content)


@dataclass
class Trigger:
    issued_at: float
    used: bool = False
