"""Slack's escaped command text -> tokens of plain text.

With `should_escape: true` Slack sends `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;`, mentions as `<@U123|name>`
or `<@U123>`, channels as `<#C123|name>`, links as `<https://…|label>` or `<https://…>`, and broadcasts as
`<!channel>`. Tokens split on whitespace, except that a `<…>` span is never split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.services.validation import clean_characters

MAX_COMMAND_LENGTH = 3000
_TOKEN = re.compile(r"(?:<[^<>]*>|[^\s<]+|<)+")
_SPAN = re.compile(r"<([^<>]*)>")
_MENTION = re.compile(r"^@([UW][A-Z0-9]{2,30})(?:\|[^<>]*)?$")
_CHANNEL = re.compile(r"^#([CG][A-Z0-9]{2,30})(?:\|([^<>]*))?$")


@dataclass(frozen=True)
class Token:
    raw: str  # as Slack sent it
    text: str  # what the person typed, unescaped
    user_id: str | None = None  # set when the whole token is one user mention
    channel_id: str | None = None  # set when the whole token is one channel link


def tokenize(raw: str) -> list[Token]:
    return [token_of(part) for part in _TOKEN.findall(clean_characters(raw))]


def unescape(raw: str) -> str:
    """Turn Slack's escaped text back into what the person typed (mentions become `@name`, links their URL)."""
    return _unescape_entities(_SPAN.sub(lambda m: _span_text(m.group(1)), raw))


def token_of(raw: str) -> Token:
    whole = _SPAN.fullmatch(raw)
    if whole:
        mention = _MENTION.match(whole.group(1))
        if mention:
            return Token(raw=raw, text=unescape(raw), user_id=mention.group(1))
        channel = _CHANNEL.match(whole.group(1))
        if channel:
            return Token(raw=raw, text=unescape(raw), channel_id=channel.group(1))
    return Token(raw=raw, text=unescape(raw))


def _span_text(inner: str) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return f"@{label}" if label else target
    if target.startswith("#"):
        return f"#{label}" if label else target
    if target.startswith("!"):
        # <!channel>, <!here>, <!subteam^S1|@team>: keep the words, never the ping.
        return label or "@" + target[1:].split("^")[0]
    return _unescape_entities(target)  # a link: keep the URL itself


def _unescape_entities(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
