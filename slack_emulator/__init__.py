"""A local Slack (Web API, uploads, response_urls, Socket Mode): the one emulator that the tests, the benchmarks
and `initiative-bot playground` run the bot against. It refuses what Slack refuses (invalid Block Kit, too many
blocks, expired or reused trigger_ids, chat.update on a user id). `requests` builds and signs what Slack sends to
an app."""

from .blocks import validate_blocks, validate_view
from .calls import RecordedCall
from .models import UploadedFile
from .ratelimits import RATE_LIMITS, RateLimit, RateLimiter
from .server import SlackEmulator
from .socket_mode import SocketAck
from .workspace import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_CHANNEL_NAME,
    DEFAULT_USER_ID,
    DEFAULT_USER_NAME,
    TEAM_ID,
    TRIGGER_TTL_SECONDS,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_CHANNEL_ID",
    "DEFAULT_CHANNEL_NAME",
    "DEFAULT_USER_ID",
    "DEFAULT_USER_NAME",
    "RATE_LIMITS",
    "TEAM_ID",
    "TRIGGER_TTL_SECONDS",
    "RateLimit",
    "RateLimiter",
    "RecordedCall",
    "SlackEmulator",
    "SocketAck",
    "UploadedFile",
    "validate_blocks",
    "validate_view",
]
