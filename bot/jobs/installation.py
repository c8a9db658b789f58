"""The reinstall check: every RECHECK_MINUTES, whether a workspace waiting for a reinstall has its app back
(bot/adapters/installation.py; no Web API call while none waits)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.adapters.installation import recheck_installation
from bot.runtime import Runtime

# auth.test is Tier 4 (100+ a minute): one call a minute while a workspace is suspended (none otherwise) costs
# nothing, and a reinstall's new token (SLACK_BOT_TOKEN_FILE) is in use within the minute.
RECHECK_MINUTES = 1


def register(scheduler, runtime: Runtime, client: WebClient) -> None:  # type: ignore[no-untyped-def]
    scheduler.add_job(recheck_installation, "interval", minutes=RECHECK_MINUTES, args=(runtime, client),
                      id="reinstall_check", replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=None)
