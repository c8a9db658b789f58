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
    parser.set_defaults(func=run_scheduler)


def run_scheduler(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.integrations.slack_channels import with_checked_channels
    from bot.jobs import scheduler

    settings = load_settings()
    settings.require_slack(receives=None)  # it only sends
    settings = with_checked_channels(settings)  # refuses a channel the bot cannot post to; a name becomes its ID
    runtime = open_runtime(settings)  # refuses an unreachable or outdated database
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    running = scheduler.start(runtime)
    stopping.wait()
    log.info("stopping: letting running jobs finish")
    running.shutdown(wait=True)
    runtime.engine.dispose()
    return 0
