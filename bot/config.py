"""Typed settings, read once from the environment (and an optional .env) and passed in everywhere else.

Each command asks only for what it uses: `require_slack()` is called by the commands that talk to Slack,
so `demo` and `db upgrade` run without any token.

The one setting that can change while a process runs is the bot token, when it is read from a file
(SLACK_BOT_TOKEN_FILE, as Docker and Kubernetes mount secrets): `Settings.bot_token()` reads the file again whenever
it changes, so that a reinstall's new token is used without a restart (docs/operations.md).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from functools import cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.logs import remember_secrets

log = logging.getLogger(__name__)

SLACK_API_URL = "https://slack.com/api/"
BOT_TOKEN_PREFIX = "xoxb-"
DEFAULT_DATABASE_URL = "sqlite:///initiatives.db"


def is_team_id(value: str) -> bool:
    """A Slack workspace (team) ID: T followed by capitals and digits, as `auth.test` returns it."""
    return len(value) > 1 and value[0] == "T" and value.isalnum() and value.isupper()


class SettingsError(Exception):
    """A missing or invalid setting, phrased for the person who sets it: `NAME: what is expected`."""


class BotToken:
    """The bot token as it reads now. SLACK_BOT_TOKEN's never changes; SLACK_BOT_TOKEN_FILE's is read again whenever
    the file changes (one os.stat per read: every Web API call asks), so that a token written there after a
    reinstall is used from the next call on, and registered for redaction before any line could show it. A file
    that reads as no bot token (a write in progress, a mistake) keeps the last good token, and says so once."""

    def __init__(self, value: str | None = None, *, path: Path | None = None) -> None:
        self.path = path
        self._value = value
        self._seen: tuple[int, int, int] | None = None
        self._refused: tuple[int, int, int] | None = None
        self._lock = threading.Lock()
        if path is not None:
            self._seen = self._stat()
            self._value = self._read()
            if not self._value:
                raise SettingsError("SLACK_BOT_TOKEN_FILE is invalid: the file is empty; expected the bot token "
                                    "from OAuth & Permissions")

    def current(self) -> str | None:
        if self.path is None:
            return self._value
        try:
            seen = self._stat()
        except SettingsError:
            return self._value  # removed for a moment (a secret being replaced): the last token still counts
        if seen != self._seen:
            with self._lock:
                if seen != self._seen:
                    self._reread(seen)
        return self._value

    def _reread(self, seen: tuple[int, int, int]) -> None:
        self._seen = seen
        try:
            value = self._read()
        except SettingsError as exc:
            log.warning("%s; Web API calls still use the previous bot token", exc)
            return
        if value.startswith(BOT_TOKEN_PREFIX):
            if value != self._value:
                self._value = value
                log.info("SLACK_BOT_TOKEN_FILE changed (%s): Web API calls use the new bot token from now on",
                         self.path)
        elif value and self._refused != seen:
            self._refused = seen
            log.warning("SLACK_BOT_TOKEN_FILE changed (%s) but holds no bot token (expected one starting with %s): "
                        "Web API calls still use the previous one", self.path, BOT_TOKEN_PREFIX)

    def _stat(self) -> tuple[int, int, int]:
        assert self.path is not None
        try:
            stat = os.stat(self.path)  # follows the symlinks Kubernetes swaps when a mounted secret changes
        except OSError as exc:
            raise SettingsError(f"SLACK_BOT_TOKEN_FILE cannot be read ({self.path}): {exc.strerror}") from None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def _read(self) -> str:
        assert self.path is not None
        try:
            value = self.path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise SettingsError(f"SLACK_BOT_TOKEN_FILE cannot be read ({self.path}): {reason}") from None
        remember_secrets(value)  # before anything could log it, whatever it turns out to be
        return value


@cache
def _token_file(path: Path) -> BotToken:
    """One per file and process: the clients of a process change token together, and the change is logged once."""
    return BotToken(path=path)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: str | None = None
    # Instead of SLACK_BOT_TOKEN: a file holding the bot token (a mounted secret), read again when it changes.
    slack_bot_token_file: Path | None = None
    slack_signing_secret: str | None = None
    # While the signing secret is rotated: requests signed with this one are accepted too (docs/operations.md).
    slack_previous_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = SLACK_API_URL
    # The workspace (T…) the command line acts on when no --team is given, before the bot token is known.
    slack_team_id: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    admin_user_ids: Annotated[frozenset[str], NoDecode] = Field(default_factory=frozenset)
    # Also treat Slack workspace admins and owners (users.info is_admin / is_owner) as admins of the bot.
    slack_admins_are_admins: bool = False
    # `#ai-portfolio` or `C012AB3CD`; start-up resolves a name to the channel's ID.
    digest_channel: str | None = None
    default_timezone: str = "UTC"
    # How often the nudge sweep runs (minutes). Reminders go out 09:00-17:00 in each recipient's zone.
    nudge_sweep_minutes: int = Field(default=15, ge=1, le=1440)
    # Outbound HTTP (webhooks, evidence links, MLflow): targets must be public HTTPS unless these allow more.
    outbound_allow_private: bool = False  # loopback, private, link-local and other non-global addresses
    outbound_allow_http: bool = False
    outbound_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Intranet hosts each purpose may reach (exact names, or ".corp.example" for every subdomain), whatever their
    # addresses. Each list serves its own purpose only (`bot.integrations.targets`).
    evidence_allowed_hosts: Annotated[frozenset[str], NoDecode] = Field(default_factory=frozenset)
    webhook_allowed_hosts: Annotated[frozenset[str], NoDecode] = Field(default_factory=frozenset)
    evidence_check_concurrency: int = Field(default=8, ge=1, le=64)
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    # After this many failed attempts in a row, an endpoint is disabled and admins are told.
    webhook_disable_after_failures: int = Field(default=15, ge=1, le=1000)
    # Retention (`initiative-bot prune`, and its daily job): days a row is kept once it has done its work. The audit
    # trail is never pruned.
    retention_event_receipt_days: int = Field(default=7, ge=1)
    retention_sent_outbox_days: int = Field(default=30, ge=1)
    retention_webhook_delivery_days: int = Field(default=90, ge=1)
    retention_nudge_log_days: int = Field(default=180, ge=1)
    retention_digest_run_days: int = Field(default=730, ge=1)
    # Guests (multi- and single-channel) may be named owners. Off: they cannot sign off for the company.
    allow_guest_owners: bool = False
    # Queued Slack messages older than this when the bot starts (after a reinstall, or a long outage) are dropped,
    # with one audit event, instead of arriving days late; sign-off requests are posted again, as they read now.
    stale_message_hours: int = Field(default=24, ge=1, le=24 * 90)
    mlflow_tracking_uri: str | None = None
    mlflow_tracking_token: str | None = None

    @field_validator("slack_bot_token_file", mode="before")
    @classmethod
    def _no_empty_path(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://slack.com/api/")
        # slack_sdk joins method names onto the base URL, so it must end with a slash.
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_team_id")
    @classmethod
    def _team_id_shape(cls, value: str | None) -> str | None:
        if value and not is_team_id(value):
            raise ValueError("expected a Slack workspace ID like T012AB3CD")
        return value or None

    @field_validator("database_url")
    @classmethod
    def _database_url_is_supported(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "expected sqlite:///path.db or postgresql://user@host:5432/dbname"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("expected a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("evidence_allowed_hosts", "webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_user_ids(cls, value: object) -> object:
        if isinstance(value, str):
            ids = [part.strip() for part in value.split(",") if part.strip()]
            bad = [i for i in ids if i[:1] not in ("U", "W") or not i.isalnum()]
            if bad:
                raise ValueError(f"expected Slack user IDs like U012ABCDEF, separated by commas (got {bad[0]!r})")
            return frozenset(ids)
        return value

    @field_validator("digest_channel")
    @classmethod
    def _channel_name_or_id(cls, value: str | None) -> str | None:
        # Only the shape here: whether Slack has the channel, with the bot in it, is checked when a process that
        # posts starts (bot.integrations.slack_channels.with_checked_channels), which also turns a name into its ID.
        value = (value or "").strip()
        if value and not re.match(r"^#?[^\s#<>@,]{1,80}$", value):
            raise ValueError("expected a channel name such as #ai-portfolio, or its ID such as C012AB3CD")
        return value or None

    @field_validator("default_timezone")
    @classmethod
    def _timezone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Europe/Berlin or UTC") from None
        return value

    @property
    def default_zone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)

    @property
    def bot_token_setting(self) -> str:
        """The variable the bot token comes from, for the messages that name it."""
        return "SLACK_BOT_TOKEN_FILE" if self.slack_bot_token_file else "SLACK_BOT_TOKEN"

    def bot_token(self) -> BotToken:
        """The bot token as it reads now, for a Web API client to ask before each call (`MeasuredWebClient`)."""
        if self.slack_bot_token_file:
            return _token_file(self.slack_bot_token_file.absolute())
        return BotToken(self.slack_bot_token)

    def require_slack(self, *, receives: Literal["http", "socket"] | None = "http") -> None:
        """Fail with one clear line if the settings needed to talk to Slack are missing: the bot token always,
        plus the signing secret to receive over HTTP or the app token to receive over Socket Mode."""
        needed = {
            self.bot_token_setting: (self.slack_bot_token, BOT_TOKEN_PREFIX, "the bot token from OAuth & Permissions"),
        }
        if receives == "socket":
            needed["SLACK_APP_TOKEN"] = (self.slack_app_token, "xapp-", "an app-level token with connections:write")
        elif receives == "http":
            needed["SLACK_SIGNING_SECRET"] = (
                self.slack_signing_secret, "", "the signing secret from Basic Information"
            )
        for name, (value, prefix, what) in needed.items():
            if not value:
                either = " (or SLACK_BOT_TOKEN_FILE, a file holding it)" if name == "SLACK_BOT_TOKEN" else ""
                raise SettingsError(f"{name} is not set{either}: expected {what}")
            if prefix and not value.startswith(prefix):
                raise SettingsError(f"{name} is invalid: expected a token starting with {prefix}")


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one line that names the variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name} is invalid: {message}") from None
    if settings.slack_bot_token_file:
        if settings.slack_bot_token:
            raise SettingsError("SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE are both set: expected only one of them")
        # Read now, so that a missing file stops the process at once, and the commands that ask for the token once
        # have it; the long-running clients ask `bot_token()` again before each call.
        settings.slack_bot_token = settings.bot_token().current()
    remember_secrets(settings.slack_bot_token, settings.slack_signing_secret, settings.slack_previous_signing_secret,
                     settings.slack_app_token, settings.mlflow_tracking_token)
    return settings
