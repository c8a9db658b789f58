"""Benchmark: how long `initiative-bot --help` and `--version` take as whole processes, next to a bare interpreter.

    .venv/bin/python bench/bench_cli.py [--runs 20] [--warmup 2] [--source DIR]

Each run is one whole process, timed from spawn to exit on the monotonic clock: interpreter start-up, imports,
argument parsing and exit, as an operator waits for them. The three commands run in turn (bare, --help,
--version, bare, ...), so a change in the shared machine's load strikes them alike, and each command's extra time
over the bare interpreter is taken run by run, within its turn. Prints medians (with min and max, whose spread
says how noisy the machine was) and the median difference and ratio to `python -c pass`, for the wall time and
for the CPU time (user + system) the process used: on a busy machine the wall time includes waiting for a CPU,
the CPU time does not.

--source DIR times the code in DIR instead of this checkout, e.g. an older commit unpacked with
`git archive COMMIT | tar -x -C DIR`, for a before/after comparison on the same interpreter and packages.

Target (issue 14): `--help` at most 0.3 s more than the bare interpreter.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -m bot --help": [sys.executable, "-m", "bot", "--help"],
    "python -m bot --version": [sys.executable, "-m", "bot", "--version"],
}
BARE = "python -c pass"


def timed(command: list[str], source: Path) -> tuple[float, float, int]:
    """(wall, CPU) seconds of one run, from spawn to exit, and its exit code."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    used_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=source, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (used.ru_utime - used_before.ru_utime) + (used.ru_stime - used_before.ru_stime), done.returncode


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="timed turns (default: 20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed turns first, to warm the file cache")
    parser.add_argument("--source", type=Path, default=REPO, help="the source tree to time (default: this one)")
    args = parser.parse_args()
    source = args.source.resolve()

    for _ in range(args.warmup):
        for command in COMMANDS.values():
            timed(command, source)
    wall: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
    exits: dict[str, set[int]] = {name: set() for name in COMMANDS}
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            seconds, used, code = timed(command, source)
            wall[name].append(seconds)
            cpu[name].append(used)
            exits[name].add(code)

    print(f"{source}: {args.runs} turns; {os.cpu_count()} CPUs ({cpu_model()}); Python {platform.python_version()}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for label, figures in (("wall", wall), ("CPU", cpu)):
        print(f"\n{label + ' time':<26} {'median':>8} {'min':>8} {'max':>8} {'+ bare':>8} {'x bare':>7}")
        bare = figures[BARE]
        for name, runs in figures.items():
            extra = statistics.median(run - base for run, base in zip(runs, bare, strict=True))
            ratio = statistics.median(run / base for run, base in zip(runs, bare, strict=True))
            print(f"{name:<26} {statistics.median(runs):>7.3f}s {min(runs):>7.3f}s {max(runs):>7.3f}s "
                  f"{extra:>+7.3f}s {ratio:>6.1f}x")
    for name, codes in exits.items():
        if codes != {0}:  # e.g. --version on a tree that has none: argparse's usage error, still a whole start-up
            print(f"note: {name} exited with {', '.join(map(str, sorted(codes)))}")


if __name__ == "__main__":
    main()
