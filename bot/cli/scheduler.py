"""`initiative-bot scheduler`: run the scheduled jobs (nudge sweep, digests) alone, for deployments that keep
them out of the serving processes (which then run with --no-scheduler)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from bot.cli.common import open_runtime

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scheduler", help="run the scheduled jobs (nudges every NUDGE_SWEEP_MINUTES, digests) until stopped",
        description="Runs the nudge sweep and the digests on their schedules. The DMs they decide go to the "
        "outbox, which the serving processes (`serve`, `socket`) deliver. Safe to run in several replicas.")
    parser.add_argument("--metrics-port", type=int, metavar="PORT",
                        help="serve Prometheus metrics at http://HOST:PORT/metrics (jobs' runs, durations, results)")
    parser.add_argument("--metrics-host", default="0.0.0.0", metavar="HOST",
                        help="address for --metrics-port (default: all interfaces)")
    parser.set_defaults(func=run_scheduler)


def run_scheduler(args: argparse.Namespace) -> int:
    from bot.config import SettingsError, load_settings
    from bot.integrations.slack_channels import with_checked_channels
    from bot.jobs import scheduler

    if args.metrics_port is not None and not 0 < args.metrics_port < 65536:
        raise SettingsError("--metrics-port must be a port number (1-65535)")
    settings = load_settings()
    settings.require_slack(receives=None)  # it only sends
    settings = with_checked_channels(settings)  # refuses a channel the bot cannot post to; a name becomes its ID
    runtime = open_runtime(settings)  # refuses an unreachable or outdated database
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    if args.metrics_port is not None:
        from prometheus_client import start_http_server

        from bot.metrics import registry_for

        start_http_server(args.metrics_port, addr=args.metrics_host, registry=registry_for(runtime.engine))
        log.info("metrics at http://%s:%s/metrics", args.metrics_host, args.metrics_port)
    running = scheduler.start(runtime)
    stopping.wait()
    log.info("stopping: letting running jobs finish")
    running.shutdown(wait=True)
    runtime.engine.dispose()
    return 0
