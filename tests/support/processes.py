"""Racing separate OS processes: each is spawned with its own interpreter and engine, and released at a barrier."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

SPAWN = multiprocessing.get_context("spawn")


def race(target: Callable[..., None], args_per_process: Sequence[tuple[Any, ...]], *,
         timeout: float = 120) -> list[tuple[str, Any]]:
    """Run `target(*args, barrier, results)` in one process per args tuple, all meeting at one barrier.

    Each process puts one `(kind, detail)` on `results`; a kind of "error" (with a traceback as detail) fails the
    calling test. Returns the outcomes, in the order they arrived."""
    barrier, results = SPAWN.Barrier(len(args_per_process)), SPAWN.Queue()
    processes = [SPAWN.Process(target=target, args=(*args, barrier, results)) for args in args_per_process]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=timeout) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    errors = [detail for kind, detail in outcomes if kind == "error"]
    assert not errors, errors[0]
    return outcomes
