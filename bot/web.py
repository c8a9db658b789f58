"""The WSGI application `serve` runs (and the test harness serves): Slack's endpoint and a health check.

- `POST /slack/events`: slash commands, interactivity and events, through Bolt's WSGI adapter (Bolt checks the
  signature and the 5-minute window and answers 401 before any listener or middleware of ours runs).
- `GET /healthz`: 200 `{"status": "ok"}` when the database answers, 503 when it does not.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app import InitiativeApp
from bot.runtime import Runtime
from storage.db import DatabaseUnavailable, check_connection

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


class WebApp:
    def __init__(self, app: InitiativeApp, runtime: Runtime) -> None:
        self.runtime = runtime
        self.slack = SlackRequestHandler(app, path=EVENTS_PATH)
        self.acknowledgements_first = app.acknowledgements_first

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == EVENTS_PATH and method == "POST":
            with self.acknowledgements_first.request():
                return self.slack(environ, start_response)
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            return self._health(start_response)
        if path in (EVENTS_PATH, HEALTH_PATH):
            return _json(start_response, "405 Method Not Allowed", {"error": "method not allowed"})
        return _json(start_response, "404 Not Found", {"error": "not found"})

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            check_connection(self.runtime.engine)
        except DatabaseUnavailable as exc:
            logger.warning("health check: %s", exc)
            return _json(start_response, "503 Service Unavailable", {"status": "unavailable", "database": "down"})
        return _json(start_response, "200 OK", {"status": "ok", "database": "ok"})


def _json(start_response: StartResponse, status: str, body: dict[str, str]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
