"""How long to wait before trying a delivery again: the outbox sender's and the webhook deliveries' policy.

Free of Slack and HTTP clients, so that the domains that deliver (webhooks) can use it without importing them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetryPolicy:
    base_delay: float = 2.0  # seconds before the first retry; doubles each attempt
    max_delay: float = 600.0
    max_attempts: int = 8
    # How long a claim holds a message. Longer than one call can take (the client timeout), so a live sender
    # never loses its claim; a crashed sender's messages come back after it.
    claim_seconds: float = 60.0
    request_timeout: float = 10.0

    def backoff(self, attempts: int) -> timedelta:
        """Exponential with "equal jitter": between half and all of base * 2^(attempts-1), capped."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # jitter, not security
