"""Safe text for mrkdwn and plain_text: escaping, clipping to Slack's limits, and `<!date^…>` times."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

SECTION_MAX = 3000
PLAIN_MAX = 75  # button labels, option text, modal titles are shorter still
ELLIPSIS = "…"
_ESCAPED_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,30})&gt;")


def escape(text: str | None) -> str:
    """User text for mrkdwn: `&`, `<`, `>` escaped, so `<!channel>` or `<@U1>` in a title pings nobody."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_keeping_mentions(text: str | None) -> str:
    """Escape a service's message but keep the user mentions (`<@U123>`) it put there on purpose."""
    return _ESCAPED_MENTION.sub(r"<@\1>", escape(text))


def clip(text: str | None, limit: int) -> str:
    """Cut text to `limit` characters, ending with an ellipsis when cut."""
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def mrkdwn(text: str | None, limit: int) -> str:
    """User text escaped for mrkdwn and clipped so the escaped result fits `limit` (an entity is never cut)."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + ELLIPSIS


def mention(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "nobody"


def channel_link(channel_id: str | None) -> str:
    return f"<#{channel_id}>" if channel_id else "no channel"


UTC_ZONE = ZoneInfo("UTC")
DATE_AND_TIME = "{date_short_pretty} at {time}"


def plain_date(at: datetime, zone: ZoneInfo | None = None) -> str:
    """A time as plain text (fallbacks, notifications, the terminal), always saying its zone: in `zone` (the
    reader's, when the text has one reader) or else in UTC: `Tue 2026-11-17 07:00 America/New_York`."""
    zone = zone or UTC_ZONE
    return f"{at.astimezone(zone):%a %Y-%m-%d %H:%M} {zone.key}"


def slack_date(at: datetime, *, zone: ZoneInfo | None = None, fmt: str = DATE_AND_TIME) -> str:
    """A time every Slack client shows in its own reader's zone. Its fallback, for clients that cannot render
    it, is `plain_date(at, zone)`: the same instant, in `zone` or UTC, saying which."""
    return f"<!date^{int(at.timestamp())}^{fmt}|{plain_date(at, zone)}>"
