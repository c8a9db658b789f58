"""`initiative-bot socket`: Socket Mode (no public URL needed), with slack_sdk's built-in WebSocket client.

Runs the same Bolt app as `serve`, plus the outbox sender and (unless --no-scheduler) the scheduler. Stops on
SIGTERM or Ctrl-C: closes the socket, finishes acknowledged work and the message in flight, then exits.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from bot.cli.common import bot_token_workspace, open_runtime, quiet_libraries

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("socket", help="connect to Slack in Socket Mode (needs SLACK_APP_TOKEN)")
    parser.add_argument("--no-scheduler", action="store_true", help="do not run scheduled jobs in this process")
    parser.set_defaults(func=run_socket)


def run_socket(args: argparse.Namespace) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    from bot.app import BOLT_LOGGER, create_app
    from bot.config import SettingsError, load_settings
    from bot.integrations.slack_channels import with_checked_channels
    from bot.process import BackgroundWork, freeze_startup_objects

    settings = load_settings()
    settings.require_slack(receives="socket")
    # As `serve` does: one line and exit code 2 if Slack refuses the token or cannot be reached.
    workspace = bot_token_workspace(settings)
    settings = with_checked_channels(settings)  # refuses a channel the bot cannot post to; a name becomes its ID
    runtime = open_runtime(settings)  # refuses an unreachable or outdated database
    # Until connected, Bolt's and slack_sdk's own lines (a warning that Bolt also saw SLACK_BOT_TOKEN, the failed
    # apps.connections.open) would only precede the one line that says what is wrong; -v shows them.
    with quiet_libraries(BOLT_LOGGER, "slack_bolt", "slack_sdk"):
        app = create_app(runtime, socket_mode=True, workspace=workspace)
        handler = SocketModeHandler(app, app_token=settings.slack_app_token)
        background = BackgroundWork(runtime, run_scheduler=not args.no_scheduler)
        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
        try:
            handler.connect()
        except SlackApiError as exc:
            raise SettingsError(
                f"SLACK_APP_TOKEN was refused by Slack ({exc.response.get('error')}): expected an "
                "app-level token with connections:write"
            ) from None
        except OSError as exc:
            raise SettingsError(f"Slack's Socket Mode cannot be reached: {exc}") from None
    background.start()
    freeze_startup_objects()
    logger.info("connected to Slack in Socket Mode")
    stopping.wait()
    logger.info("stopping")
    handler.close()
    app.drain()
    background.stop()
    runtime.engine.dispose()
    return 0
