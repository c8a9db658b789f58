"""A scheduler replica in its own OS process (multiprocessing, spawn context), for the one-nudge-a-day test."""

from __future__ import annotations

import traceback
from datetime import datetime, timedelta
from typing import Any

from bot.adapters.nudges import run_sweep
from bot.config import Settings
from bot.delivery.sender import deliver_pending, make_client
from bot.presenters import render_nudge
from bot.runtime import Runtime
from bot.services.nudges.scheduled import NUDGE_INTENT
from storage.db import make_engine


def sweeping_replica(database_url: str, api_url: str, start_iso: str, sweeps: int, barrier: Any,
                     results: Any) -> None:
    """A working day of sweeps every 15 minutes (simulated), each followed by this replica's sender."""
    settings = Settings(_env_file=None, database_url=database_url, slack_api_url=api_url,
                        slack_bot_token="xoxb-test", admin_user_ids="UADMIN")
    # Nudges are intents that the sender renders (leaving out what was decided since): its renderer is needed.
    runtime = Runtime(settings=settings, engine=make_engine(database_url), renderers={NUDGE_INTENT: render_nudge})
    client = make_client(settings)
    now = datetime.fromisoformat(start_iso)
    written = []
    try:
        barrier.wait(timeout=60)
        for step in range(sweeps):
            result = run_sweep(runtime, now=now + timedelta(minutes=15 * step), client=client)
            written.append(result.written)
            deliver_pending(runtime, client)
        results.put(("ok", written))
    except Exception:  # noqa: BLE001 (the parent test must see every failure, whatever it is)
        results.put(("error", traceback.format_exc()))
    finally:
        runtime.engine.dispose()
