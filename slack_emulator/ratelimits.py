"""Slack's Web API rate limits, enforced with sliding windows (only when the emulator is asked to)."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal


@dataclass(frozen=True)
class RateLimit:
    """At most `max_calls` per rolling `per_seconds`, counted per workspace or per channel."""

    max_calls: int
    per_seconds: float
    scope: Literal["workspace", "channel"] = "workspace"


_TIER_2: Final = (RateLimit(20, 60.0),)
_TIER_3: Final = (RateLimit(50, 60.0),)
_TIER_4: Final = (RateLimit(100, 60.0),)

# https://api.slack.com/docs/rate-limits. Slack's tiers are floors ("50+ per minute"); the emulator uses
# the floor so a bot that passes here also passes on Slack. Methods not listed are not limited.
RATE_LIMITS: Final[Mapping[str, tuple[RateLimit, ...]]] = {
    # "Special" tier: one message per second per channel, with a workspace-wide cap.
    "chat.postMessage": (RateLimit(1, 1.0, "channel"), RateLimit(300, 60.0)),
    "chat.update": _TIER_3,
    "conversations.open": _TIER_3,
    "conversations.info": _TIER_3,
    "conversations.list": _TIER_2,
    "chat.postEphemeral": _TIER_4,
    "users.info": _TIER_4,
    "users.lookupByEmail": _TIER_3,
    "views.open": _TIER_4,
    "views.update": _TIER_4,
    "views.push": _TIER_4,
    "views.publish": _TIER_4,
    "files.getUploadURLExternal": _TIER_4,
    "files.completeUploadExternal": _TIER_4,
}


class RateLimiter:
    """Sliding-window counters. Not thread-safe: the emulator calls it under its own lock."""

    def __init__(
        self,
        limits: Mapping[str, tuple[RateLimit, ...]] = RATE_LIMITS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._windows: defaultdict[tuple[str, int, str], deque[float]] = defaultdict(deque)

    def retry_after(self, method: str, channel: str | None = None) -> int | None:
        """Seconds to wait (Slack's integer `Retry-After`) if a call now would exceed a limit, else None."""
        now = self._clock()
        waits = [
            window[0] + limit.per_seconds - now
            for index, limit in enumerate(self._limits.get(method, ()))
            if len(window := self._window(method, index, limit, channel, now)) >= limit.max_calls
        ]
        return max(1, math.ceil(max(waits))) if waits else None

    def record(self, method: str, channel: str | None = None) -> None:
        """Count a call that was let through."""
        now = self._clock()
        for index, limit in enumerate(self._limits.get(method, ())):
            self._window(method, index, limit, channel, now).append(now)

    def _window(
        self, method: str, index: int, limit: RateLimit, channel: str | None, now: float
    ) -> deque[float]:
        key = (channel or "") if limit.scope == "channel" else "*"
        window = self._windows[(method, index, key)]
        while window and window[0] <= now - limit.per_seconds:
            window.popleft()
        return window
