"""A scheduler replica in its own OS process (multiprocessing, spawn context), for the once-only revisit test."""

from __future__ import annotations

import traceback
from datetime import datetime
from functools import partial
from typing import Any

from bot.adapters.outcomes import prompt_payload
from bot.config import Settings
from bot.runtime import Runtime
from bot.services.outcomes import scheduled as outcomes_scheduled
from storage.db import make_engine

send_revisit_prompts = partial(outcomes_scheduled.send_revisit_prompts, render=prompt_payload)


def revisit_replica(database_url: str, now_iso: str, barrier: Any, results: Any) -> None:
    """One replica's revisit job, released at the same moment as the other's."""
    settings = Settings(_env_file=None, database_url=database_url, slack_bot_token="xoxb-test")
    runtime = Runtime(settings=settings, engine=make_engine(database_url))
    try:
        barrier.wait(timeout=60)
        results.put(("ok", send_revisit_prompts(runtime, now=datetime.fromisoformat(now_iso))))
    except Exception:  # noqa: BLE001 (the parent test must see every failure, whatever it is)
        results.put(("error", traceback.format_exc()))
    finally:
        runtime.engine.dispose()
