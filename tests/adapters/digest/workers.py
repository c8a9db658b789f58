"""A scheduler replica in its own OS process (multiprocessing, spawn context), for the exactly-once test."""

from __future__ import annotations

import traceback
from datetime import datetime
from typing import Any

from bot.adapters.digest import digest_tick
from bot.config import Settings
from bot.delivery.sender import deliver_pending, make_client
from bot.runtime import Runtime
from storage.db import make_engine


def scheduler_replica(database_url: str, api_url: str, now_iso: str, barrier: Any, results: Any) -> None:
    """What one replica does in its first minute: a digest tick, its outbox sender, another tick."""
    settings = Settings(_env_file=None, database_url=database_url, slack_api_url=api_url,
                        slack_bot_token="xoxb-test")
    runtime = Runtime(settings=settings, engine=make_engine(database_url))
    client = make_client(settings)
    now = datetime.fromisoformat(now_iso)
    try:
        barrier.wait(timeout=60)
        first = digest_tick(runtime, client, now=now)
        deliver_pending(runtime, client)
        second = digest_tick(runtime, client, now=now)
        results.put(("ok", (first.started, second.charts)))
    except Exception:  # noqa: BLE001 (the parent test must see every failure, whatever it is)
        results.put(("error", traceback.format_exc()))
    finally:
        runtime.engine.dispose()
