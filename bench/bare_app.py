"""The baseline for bench_slack.py and bench_decisions.py: a bare Bolt app on `serve`'s server stack, answering
one static command, and acknowledging an Approve click and a checklist submission at once.

python bench/bare_app.py PORT WORKERS THREADS   (reads SLACK_API_URL, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)

The server options and listener threads are those of the `bot` package first on PYTHONPATH.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

# After PYTHONPATH: bench_decisions.py runs this file with another checkout's code (--code), on that checkout's
# own server stack.
sys.path.append(str(Path(__file__).resolve().parents[1]))

from bot.app import DEFAULT_LISTENER_THREADS
from bot.cli.serve import gunicorn_options
from bot.config import load_settings
from bot.process import freeze_startup_objects
from bot.views import ids


class BareApp(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> SlackRequestHandler:
        settings = load_settings()
        app = App(
            signing_secret=settings.slack_signing_secret,
            client=WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url),
            # The same executor size as the bot, so the comparison measures the bot's own work.
            listener_executor=ThreadPoolExecutor(max_workers=DEFAULT_LISTENER_THREADS),
        )

        @app.command("/bare")
        def answer(ack: Any) -> None:
            ack(response_type="ephemeral", text="pong")

        @app.action(ids.APPROVE)
        def click(ack: Any) -> None:
            ack()

        @app.view(ids.CHECKLIST_MODAL)
        def submission(ack: Any) -> None:
            ack()

        handler = SlackRequestHandler(app)
        freeze_startup_objects()  # as serve's workers do
        return handler


if __name__ == "__main__":
    port, workers, threads = (int(arg) for arg in sys.argv[1:4])
    BareApp(gunicorn_options(host="127.0.0.1", port=port, workers=workers, threads=threads)).run()
