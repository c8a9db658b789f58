"""A sender in its own OS process, for crash tests: `python -m tests.delivery.sender_process CLAIM_SECONDS`.

Reads DATABASE_URL, SLACK_API_URL and SLACK_BOT_TOKEN like the bot, delivers until the outbox has nothing
pending, then exits 0.
"""

from __future__ import annotations

import sys
import time

from bot.config import load_settings
from bot.delivery.outbox import state_counts
from bot.delivery.sender import RetryPolicy, deliver_pending, make_client
from bot.runtime import Runtime


def main() -> int:
    settings = load_settings()
    runtime = Runtime.from_settings(settings)
    policy = RetryPolicy(claim_seconds=float(sys.argv[1]))
    client = make_client(settings, policy=policy)
    while True:
        deliver_pending(runtime, client, policy=policy)
        with runtime.transaction() as session:
            if state_counts(session)["pending"] == 0:
                return 0
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main())
