"""The WSGI application `serve` runs (and the test harness serves): Slack's endpoint and a health check.

- `POST /slack/events`: slash commands, interactivity and events, through Bolt's WSGI adapter, behind
  `bot.edge.SlackEdge` (size, timestamp and signature, checked before anything is parsed: 413 or 401).
- `GET /healthz`: liveness only, 200 `{"status": "ok"}` from a process that serves requests. It never touches
  the database, so a stalled database cannot make it slow; a readiness probe with a bounded database check is
  a separate endpoint's job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app import InitiativeApp
from bot.edge import SlackEdge
from bot.runtime import Runtime

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"

StartResponse = Callable[..., Any]


class WebApp:
    def __init__(self, app: InitiativeApp, runtime: Runtime) -> None:
        self.runtime = runtime
        signing_secret = runtime.settings.slack_signing_secret
        assert signing_secret, "create_app refuses to build an HTTP app without SLACK_SIGNING_SECRET"
        self.slack = SlackEdge(SlackRequestHandler(app, path=EVENTS_PATH), signing_secret=signing_secret)
        self.acknowledgements_first = app.acknowledgements_first

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == EVENTS_PATH and method == "POST":
            with self.acknowledgements_first.request():
                return self.slack(environ, start_response)
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            return _json(start_response, "200 OK", {"status": "ok"})
        if path in (EVENTS_PATH, HEALTH_PATH):
            return _json(start_response, "405 Method Not Allowed", {"error": "method not allowed"})
        return _json(start_response, "404 Not Found", {"error": "not found"})


def _json(start_response: StartResponse, status: str, body: dict[str, str]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
