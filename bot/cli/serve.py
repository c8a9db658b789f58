"""`initiative-bot serve`: Slack's HTTP endpoints on gunicorn.

The master checks settings, the database and the bot token, then forks workers. Each worker
(`bot.edge_worker.BufferingWorker`) reads every request whole on an event loop, within time and size limits,
before one of its `--threads` request threads runs the app: idle or slow clients hold no thread. Each worker
builds its own runtime, Bolt app and background work (outbox sender; scheduler in one worker, see
`bot.process`). On SIGTERM the worker stops accepting, lets in-flight requests finish (up to
`--graceful-timeout`), then drains its listener executor and stops its sender before it exits.

Metrics: every worker counts into files in PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode), which
`GET /metrics` in any worker adds up. `serve` empties that directory when it starts (counts from an earlier run
would be added to this one's), or makes a private one when it is not set, removed at exit. A worker that exits
leaves its counters' files, so its counts stay in the totals; gunicorn's `child_exit` hook marks it dead, which
drops its live-only gauges.
"""

from __future__ import annotations

import argparse
import atexit
import glob
import logging
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from bot.cli.common import bot_token_workspace, open_runtime

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.web import WebApp

logger = logging.getLogger(__name__)
# Read once by prometheus_client, when it is first imported (bot.metrics).
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve Slack's HTTP endpoints (POST /slack/events; GET /healthz, /readyz, /metrics)")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all interfaces)")
    parser.add_argument("--port", type=int, default=3000, help="port to listen on (default: 3000)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default: 1; add replicas to scale)")
    parser.add_argument("--threads", type=int, default=16, help="request threads per worker (default: 16)")
    parser.add_argument(
        "--graceful-timeout", type=int, default=30, help="seconds in-flight work may take after SIGTERM (default: 30)"
    )
    parser.add_argument(
        "--no-scheduler", action="store_true", help="do not run scheduled jobs here (run them in one replica only)"
    )
    parser.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    from bot.config import SettingsError, load_settings
    from bot.integrations.slack_channels import with_checked_channels

    class _Served(_Gunicorn, BaseApplication):
        """gunicorn's application class, only imported when `serve` runs."""

    prepare_metrics_directory()  # before anything imports prometheus_client, which reads it once
    settings = load_settings()
    settings.require_slack()
    for name in ("workers", "threads", "port"):
        if getattr(args, name) < 1:
            raise SettingsError(f"--{name} must be a positive number")
    runtime = open_runtime(settings)
    runtime.engine.dispose()  # each worker opens its own connections after the fork
    workspace = bot_token_workspace(settings)
    settings = with_checked_channels(settings)  # DIGEST_CHANNEL=#name becomes its ID, for every worker
    options = gunicorn_options(
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        graceful_timeout=args.graceful_timeout,
    )
    _Served(options, settings, run_scheduler=not args.no_scheduler, threads=args.threads, workspace=workspace).run()
    return 0


def gunicorn_options(*, host: str, port: int, workers: int, threads: int, graceful_timeout: int = 30) -> dict[str, Any]:
    """The server stack `serve` runs on (also used by bench/ for its baseline app)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        # Not gthread: it lets idle and slow connections hold its request threads (bot.edge_worker says how).
        "worker_class": "bot.edge_worker.BufferingWorker",
        "threads": threads,
        "graceful_timeout": graceful_timeout,
        "timeout": 60,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "initiative-bot",
        "pre_fork": _before_fork,
        "worker_exit": _worker_exit,
        "child_exit": _child_exit,
        "logger_class": "bot.edge_worker.GunicornLogs",
        # gunicorn's runtime control socket is one fixed path per user; several serves on a host would clash.
        "control_socket_disable": True,
    }


class _Gunicorn:
    """What `serve` adds to gunicorn's BaseApplication (mixed in by run_serve): our settings and worker start-up."""

    def __init__(self, options: dict[str, Any], settings: Settings, *, run_scheduler: bool, threads: int,
                 workspace: str) -> None:
        self.options = options
        self.workspace = workspace
        self.settings = settings
        self.run_scheduler = run_scheduler
        self.threads = threads
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> WebApp:
        """Runs in each worker after the fork."""
        from bot.app import DEFAULT_LISTENER_THREADS, create_app
        from bot.process import BackgroundWork, freeze_startup_objects
        from bot.web import WebApp
        from bot.wiring import build_runtime

        runtime = build_runtime(self.settings)
        app = create_app(runtime, listener_threads=max(DEFAULT_LISTENER_THREADS, 2 * self.threads),
                         workspace=self.workspace)
        background = BackgroundWork(runtime, run_scheduler=self.run_scheduler)
        background.start()
        _worker_state.update(app=app, background=background, runtime=runtime)
        web_app = WebApp(app, runtime)
        # The master froze what it had before the fork; this adds what the worker built.
        frozen = freeze_startup_objects()
        logger.info("worker ready: %s more startup objects kept out of garbage collection", f"{frozen:,}")
        return web_app


def prepare_metrics_directory() -> str:
    """PROMETHEUS_MULTIPROC_DIR, emptied of an earlier run's files; a private directory when it is not set."""
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory:
        os.makedirs(directory, exist_ok=True)
        for stale in glob.glob(os.path.join(directory, "*.db")):
            os.unlink(stale)
    else:
        directory = tempfile.mkdtemp(prefix="initiative-bot-metrics-")
        os.environ[MULTIPROCESS_DIR] = directory
        master = os.getpid()
        # Forked workers inherit this exit handler, and a worker that exits must not take the others' counts along.
        atexit.register(lambda: os.getpid() == master and shutil.rmtree(directory, ignore_errors=True))
    return directory


def _child_exit(server: Any, worker: Any) -> None:
    """gunicorn's hook, in the master, once a worker has exited: its live gauges leave /metrics (its counts stay)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# This worker's app and background work, for the exit hook (one set per worker process).
_worker_state: dict[str, Any] = {}


def _before_fork(server: Any, worker: Any) -> None:
    """gunicorn's hook, in the master, before it forks a worker."""
    from bot.process import freeze_startup_objects

    freeze_startup_objects()


def _worker_exit(server: Any, worker: Any) -> None:
    """gunicorn's hook, in the worker, after its last request: finish acknowledged work, then stop."""
    app, background, runtime = (_worker_state.get(k) for k in ("app", "background", "runtime"))
    if app is not None:
        app.drain()
    if background is not None:
        background.stop()
    if runtime is not None:
        runtime.engine.dispose()
    logger.info("worker %s stopped cleanly", worker.pid)
