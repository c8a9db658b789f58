"""The digest job: a tick every TICK_SECONDS (and one at start-up) of the digest domain's `digest_tick`
(bot/services/digest/scheduled.py), handed the views' wording and slack_sdk's chart upload (`SlackDigest`).

Catch-up is decided from the digest tables on each tick, not by APScheduler's misfire handling, so a missed job
is simply skipped.
"""

from __future__ import annotations

from slack_sdk import WebClient

from bot.adapters.digest import SlackDigest
from bot.runtime import Runtime
from bot.services.digest.scheduled import digest_tick
from storage.types import utcnow

TICK_SECONDS = 60


def register(scheduler, runtime: Runtime, client: WebClient) -> None:  # type: ignore[no-untyped-def]
    """Add the digest tick to an APScheduler 3 scheduler."""
    scheduler.add_job(digest_tick, "interval", seconds=TICK_SECONDS, args=(runtime, SlackDigest(client)),
                      id="digest_tick", replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None, next_run_time=utcnow())
