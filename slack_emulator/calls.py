"""What the emulator records about each Web API call, and the answers (real or injected) it sends."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Final

_HTML_ERROR: Final = "<html><head><title>Service Unavailable</title></head><body>Slack is down.</body></html>"


@dataclass
class RecordedCall:
    """One Web API request, recorded when it arrives; `status` stays 0 until it has been answered."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    received_at: float
    response: dict[str, Any] = field(default_factory=dict)
    status: int = 0
    injected: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response.get("ok") is True

    @property
    def error(self) -> str | None:
        return self.response.get("error")

    @property
    def warning(self) -> str | None:
        return self.response.get("warning")

    def json_param(self, name: str, default: Any = None) -> Any:
        """A JSON argument (`blocks`, `view`, `files`...) decoded, whether it came as a string or as JSON."""
        value = self.params.get(name, default)
        return json.loads(value) if isinstance(value, str) else value

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return self.json_param("blocks") or []


@dataclass
class Answer:
    """An HTTP answer. `response` is recorded and sent as JSON, unless `raw_body` is given."""

    status: int
    response: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: str | None = None

    @classmethod
    def slack(cls, response: dict[str, Any]) -> Answer:
        """A 200 with a Slack JSON body (which may still say `"ok": false`)."""
        return cls(200, response)

    @classmethod
    def text(cls, status: int, body: str, content_type: str = "text/plain") -> Answer:
        return cls(status, {}, {"Content-Type": content_type}, raw_body=body)

    @classmethod
    def ratelimited(cls, retry_after: float) -> Answer:
        # Slack's Retry-After is a whole number of seconds, never 0.
        seconds = max(1, math.ceil(retry_after))
        return cls(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(seconds)})


@dataclass
class Fault:
    """A failure queued with `SlackEmulator.inject()` for the next `times` calls to a method."""

    status: int | None
    error: str | None
    retry_after: float | None
    delay: float | None
    body: str | None
    times: int

    def answer(self) -> Answer | None:
        """The injected answer, or None when the fault is only a delay before the real answer."""
        if self.retry_after is not None:
            return Answer.ratelimited(self.retry_after)
        if self.status is not None:
            # Slack's 500s come with an empty body; gateway errors (502/503/504) with an HTML page.
            body = self.body if self.body is not None else ("" if self.status == 500 else _HTML_ERROR)
            return Answer.text(self.status, body, "text/html")
        if self.error is not None:
            return Answer.slack({"ok": False, "error": self.error})
        return None
