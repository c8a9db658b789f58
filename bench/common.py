"""What the Slack benchmarks share: scratch databases, servers in subprocesses, percentiles, CPU and memory of a
process tree, and the machine's description.

Run from this checkout's virtualenv; the code under test may be another checkout (`--code`, see
bench_decisions.py), which is why servers take their interpreter and working directory as arguments.
"""

from __future__ import annotations

import os
import platform
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import postgres
from tests.support.serving import REPO, free_port


@contextmanager
def scratch_database(backend: str, prefix: str = "ib_bench") -> Iterator[str]:
    """An empty database for one run: a file in a temporary directory, or a scratch PostgreSQL database."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{directory}/bench.db"
        return
    with postgres.scratch_database(prefix=prefix) as url:
        yield url


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    log: Path


@contextmanager
def server(command_for: Callable[[int], list[str]], env: dict[str, str], cwd: Path = REPO) -> Iterator[Server]:
    """Start `command_for(port)` on a free port, wait until it answers /healthz, stop it afterwards."""
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(command_for(port), env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    running = Server(f"http://127.0.0.1:{port}", process.pid, Path(log.name))
    try:
        wait_until_listening(running.url, process, log.name)
        yield running
    finally:
        process.terminate()
        process.wait(60)


def serve_command(python: str, *, workers: int, threads: int) -> Callable[[int], list[str]]:
    """`initiative-bot serve --no-scheduler` as an operator runs it, with `python` (a checkout's virtualenv)."""
    return lambda port: [python, "-m", "bot", "serve", "--no-scheduler", "--host", "127.0.0.1", "--port", str(port),
                         "--workers", str(workers), "--threads", str(threads)]


def bare_app_command(python: str = sys.executable, *, workers: int, threads: int) -> Callable[[int], list[str]]:
    """bench/bare_app.py (always this checkout's), on the server stack of the code that `python` and PYTHONPATH
    run: the baseline for that code."""
    return lambda port: [python, str(REPO / "bench" / "bare_app.py"), str(port), str(workers), str(threads)]


def wait_until_listening(url: str, process: subprocess.Popen, log: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited:\n{Path(log).read_text()}")
        try:
            httpx.get(url + "/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"server did not start:\n{Path(log).read_text()}")


def percentile(seconds: list[float], p: int) -> float:
    """The p-th percentile, in milliseconds."""
    return statistics.quantiles(seconds, n=100, method="inclusive")[p - 1] * 1000


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (serve's master and its workers)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, generation = [root], [root]
    while generation:
        generation = [child for child, parent in parents.items() if parent in generation]
        tree += generation
    return tree


def cpu_seconds(root: int) -> float:
    """User + system CPU seconds used so far by `root` and its descendants."""
    total = 0.0
    for pid in process_tree(root):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def serve_memory(master_pid: int) -> dict[str, float]:
    """Memory of `serve` (master and workers), in MB, three ways:

    - `resident`: the physical pages the processes have in RAM, each page counted once however many of them
      map it (read from /proc/<pid>/pagemap, which needs root): what the tree really occupies;
    - `rss`: RSS summed over the processes, which counts a page shared after a fork once per process;
    - `pss`: PSS summed, where a shared page is split between all its sharers, outside the tree too."""
    memory = {"rss": 0.0, "pss": 0.0}
    frames: set[int] = set()
    for pid in process_tree(master_pid):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            field, _, value = line.partition(":")
            if field in ("Rss", "Pss"):
                memory[field.lower()] += int(value.split()[0]) / 1024
        frames |= resident_frames(pid)
    memory["resident"] = len(frames) * PAGE_SIZE / 1024 / 1024
    return memory


PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def resident_frames(pid: int) -> set[int]:
    """The physical page frames of `pid` that are in RAM (swap is not used on these machines)."""
    frames: set[int] = set()
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for mapping in Path(f"/proc/{pid}/maps").read_text().splitlines():
            start, end = (int(address, 16) // PAGE_SIZE for address in mapping.split()[0].split("-"))
            if mapping.endswith("[vsyscall]"):
                continue
            pagemap.seek(start * 8)
            entries = pagemap.read((end - start) * 8)
            for (entry,) in struct.iter_unpack("<Q", entries):
                if entry >> 63:  # bit 63: present in RAM; bits 0-54: the frame number
                    frames.add(entry & ((1 << 55) - 1))
    return frames


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    ram_kb = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    return f"{os.cpu_count()} CPUs ({cpu}), {ram_kb / 1024 / 1024:.1f} GiB RAM, Python {platform.python_version()}"
