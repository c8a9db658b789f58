"""How the bot's processes log: readable text by default, one JSON object per line with `LOG_FORMAT=json`, and
never a secret either way.

- Text: `time LEVEL logger: message` (as before).
- JSON: `{"time", "level", "logger", "message"}`, plus `request_id`, `team`, `surface` and `duration_ms` on the
  lines logged while a Slack request is handled in its request thread (`request_context`), and `exception` when
  there is a traceback.
- Redaction: whatever the format, a line goes through `redact` last. Slack tokens (`xox…-`, `xapp-`) and webhook
  secrets (`whsec_…`) are recognised by their shape, and the values of the secret settings (the signing secret, the
  MLflow token...: `bot.config.load_settings` hands them to `remember_secrets`) by their value, wherever they
  appear: in a message, an argument, or a traceback.
- Bodies: our code never logs a request's or a message's body (`bot.edge` logs a refusal's path, peer and reason
  only), and the Slack libraries (slack_sdk, and Bolt, which logs as `bot.slack`), whose DEBUG lines hold them,
  are kept at INFO.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

T = TypeVar("T")

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
# Secrets that are recognisable by their shape (Slack's tokens; our webhook secrets), whoever's they are.
SECRET_SHAPES = re.compile(r"\b(?:xox[abposre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|whsec_[A-Za-z0-9+/=_-]+)")


class LogSetupError(Exception):
    """LOG_FORMAT names no known format."""


@dataclass
class RequestContext:
    """One Slack request, while its request thread handles it: what its log lines and metrics are labelled with."""

    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    surface: str = "unknown"  # command, action, view, event, shortcut, options, other (bot.app labels it)
    team: str | None = None
    outcome: str | None = None  # set when it is not simply "ok": deduplicated, error


_current = threading.local()


@contextmanager
def request_context(request_id: str | None = None) -> Iterator[RequestContext]:
    context = RequestContext(request_id=request_id) if request_id else RequestContext()
    _current.request = context
    try:
        yield context
    finally:
        _current.request = None


def current_request() -> RequestContext | None:
    """The request this thread is handling, if any (handed on to the threads working for it: `carry_request`)."""
    return getattr(_current, "request", None)


def carry_request(work: Callable[..., T]) -> Callable[..., T]:
    """`work`, run on another thread under the request this thread is handling now (none: unchanged), so that what
    it logs carries the request's id, surface and team."""
    request = current_request()
    if request is None:
        return work

    def under_request(*args: Any, **kwargs: Any) -> T:
        _current.request = request
        try:
            return work(*args, **kwargs)
        finally:
            _current.request = None

    return under_request


_secrets: tuple[str, ...] = ()


def remember_secrets(*values: str | None) -> None:
    """Blank these values out of every line logged from now on (the secret settings, once they are read)."""
    global _secrets
    # Short values could match ordinary words; real secrets are long. Longest first, so none is left half-blanked.
    known = set(_secrets) | {value for value in values if value and len(value) >= 8}
    _secrets = tuple(sorted(known, key=len, reverse=True))


def redact(line: str) -> str:
    line = SECRET_SHAPES.sub(REDACTED, line)
    for secret in _secrets:
        line = line.replace(secret, REDACTED)
    return line


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (request := current_request()) is not None:
            line |= {"request_id": request.request_id, "surface": request.surface}
            if request.team:
                line["team"] = request.team
        if (duration := getattr(record, "duration_ms", None)) is not None:
            line["duration_ms"] = duration
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(line, ensure_ascii=False, default=str))


def formatter(log_format: str | None = None) -> logging.Formatter:
    """The formatter LOG_FORMAT (or `log_format`) asks for."""
    chosen = (log_format or os.environ.get("LOG_FORMAT") or "text").strip().lower()
    if chosen not in LOG_FORMATS:
        raise LogSetupError(f"LOG_FORMAT is invalid: expected one of {', '.join(LOG_FORMATS)} (got {chosen!r})")
    return JsonFormatter() if chosen == "json" else TextFormatter()


def configure(level: int, log_format: str | None = None) -> None:
    """One stderr handler on the root logger, in the chosen format; as `logging.basicConfig`, nothing changes when
    the root logger has handlers already (a program that embeds the bot, or pytest, logs its own way)."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    logging.basicConfig(level=level, handlers=[handler])
    # The Slack libraries' DEBUG lines carry whole bodies (slack_sdk: every Web API request and answer; Bolt, whose
    # logger is bot.slack: every answer to Slack), so what people typed and what the bot showed them: never logged,
    # even with --verbose.
    for library in ("slack_sdk", "bot.slack"):
        logging.getLogger(library).setLevel(max(level, logging.INFO))
    # matplotlib says at INFO that it built its font cache (the first chart on a machine): nothing an operator acts on.
    logging.getLogger("matplotlib").setLevel(max(level, logging.WARNING))
