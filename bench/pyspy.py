"""Where a server's time goes: py-spy samples of a process tree, summarised for one listener.

py-spy is not a dependency of the bot; install it into the bench's virtualenv (`.venv/bin/pip install py-spy`).
It samples from outside the process (`--nonblocking`: without pausing it), every thread, idle or not (`--idle`), so
a listener's samples add up to its wall time, waits on the database or the GIL included.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")


@contextmanager
def recording(pid: int, output: Path, rate: int = 200) -> Iterator[None]:
    """Sample `pid` and its subprocesses while the block runs; raw collapsed stacks go to `output`. py-spy needs
    a moment to attach: the block starts once it has."""
    executable = PY_SPY if PY_SPY.exists() else shutil.which("py-spy")
    if executable is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    spy = subprocess.Popen([str(executable), "record", "--pid", str(pid), "--subprocesses", "--idle", "--nonblocking",
                            "--nolineno", "--format", "raw", "--rate", str(rate), "--output", str(output)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(60)


def summary(recordings: list[Path], marker: str, top: int = 25) -> list[str]:
    """The functions of the bot and storage (and a few library calls that say where time goes) under the frames
    that contain `marker`, by their share of those samples (inclusive: a function's callees count for it)."""
    within: Counter[str] = Counter()
    total = 0
    for line in (line for recording in recordings for line in recording.read_text().splitlines()):
        frames, _, count = line.rpartition(" ")
        if marker not in frames:
            continue
        samples = int(count)
        total += samples
        below = frames.split(";")
        below = below[next(i for i, frame in enumerate(below) if marker in frame):]
        for frame in set(below):
            if any(part in frame for part in INTERESTING):
                within[frame] += samples
    if not total:
        return [f"no samples under {marker!r}"]
    return [f"{total} samples under {marker!r} (200 per second, wall time):"] + [
        f"  {count / total:6.1%}  {frame}" for frame, count in within.most_common(top)
    ]


# Our own code, and the calls that tell database time, commits and Slack calls apart from Python.
INTERESTING = ("bot/", "storage/", "do_execute (", "commit (", "api_call (")
