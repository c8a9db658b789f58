"""The WSGI application `serve` runs (and the test harness serves): Slack's endpoint, probes and metrics.

- `POST /slack/events`: slash commands, interactivity and events, through Bolt's WSGI adapter, behind
  `bot.edge.SlackEdge` (size, timestamp and signature, checked before anything is parsed: 413 or 401). Each request
  gets a request id (its `X-Request-Id`, else a new one) for its log lines, and is counted by surface and outcome,
  with the time to its acknowledgement (`bot.metrics`).
- `GET /healthz`: liveness only, 200 `{"status": "ok"}` from a process that serves requests. It never touches
  the database, so a stalled database cannot make it slow (nor make an orchestrator restart a healthy process).
- `GET /readyz`: readiness, 200 only when the database answers and is at the head migration; else 503 with a
  one-line reason, within `READY_TIMEOUT` seconds. A draining worker has closed its listener, so it is not asked.
- `GET /metrics`: Prometheus' text format (`bot.metrics.exposition`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text

from bot.app import InitiativeApp
from bot.edge import SlackEdge
from bot.logs import request_context
from bot.metrics import ACK_SECONDS, CONTENT_TYPE, SLACK_REQUESTS, exposition
from bot.runtime import Runtime
from storage.migrate import current_revision, head_revision

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
READY_TIMEOUT = 2.0

StartResponse = Callable[..., Any]
logger = logging.getLogger(__name__)


class WebApp:
    def __init__(self, app: InitiativeApp, runtime: Runtime) -> None:
        self.runtime = runtime
        signing_secret = runtime.settings.slack_signing_secret
        assert signing_secret, "create_app refuses to build an HTTP app without SLACK_SIGNING_SECRET"
        self.slack = SlackEdge(SlackRequestHandler(app, path=EVENTS_PATH), signing_secret=signing_secret,
                               previous_signing_secret=runtime.settings.slack_previous_signing_secret)
        self.acknowledgements_first = app.acknowledgements_first
        self.head = head_revision(runtime.engine)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == EVENTS_PATH and method == "POST":
            with self.acknowledgements_first.request():
                return self._slack_request(environ, start_response)
        if method in ("GET", "HEAD"):
            if path == HEALTH_PATH:
                return _json(start_response, "200 OK", {"status": "ok"})
            if path == READY_PATH:
                problem = self._not_ready_because()
                if problem:
                    return _json(start_response, "503 Service Unavailable", {"status": "not ready", "reason": problem})
                return _json(start_response, "200 OK", {"status": "ready"})
            if path == METRICS_PATH:
                data = exposition(self.runtime.engine)
                start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(data)))])
                return [data]
        if path in (EVENTS_PATH, HEALTH_PATH, READY_PATH, METRICS_PATH):
            return _json(start_response, "405 Method Not Allowed", {"error": "method not allowed"})
        return _json(start_response, "404 Not Found", {"error": "not found"})

    def _slack_request(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Handle one request from Slack, then count it and log how long its acknowledgement took."""
        started = time.perf_counter()
        answered: list[str] = []

        def noting_status(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            answered.append(status)
            return start_response(status, headers, *args)

        incoming_id = (environ.get("HTTP_X_REQUEST_ID") or "")[:64]
        with request_context(incoming_id if incoming_id.isprintable() else None) as request:
            body = self.slack(environ, noting_status)
            seconds = time.perf_counter() - started
            code = int(answered[0].split(" ", 1)[0]) if answered else 500
            if code >= 500:
                outcome = "error"
            elif code >= 400:
                outcome = "refused"
            else:
                outcome = request.outcome or "ok"
            SLACK_REQUESTS.labels(request.surface, outcome).inc()
            ACK_SECONDS.labels(request.surface).observe(seconds)
            logger.debug("answered %s (%s)", code, outcome, extra={"duration_ms": round(seconds * 1000, 1)})
        return body

    def _not_ready_because(self) -> str | None:
        """Why this process should not be sent requests now, or None. Bounded by READY_TIMEOUT: a database that
        stalls makes the answer 'not ready', not a probe that hangs."""
        answer: Future[str | None] = Future()

        def check() -> None:
            try:
                with self.runtime.engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                current = current_revision(self.runtime.engine)
                answer.set_result(None if current == self.head else
                                  f"the database is at revision {current}, this code needs {self.head}")
            except Exception as exc:  # noqa: BLE001 - any failure to answer is the reason, in one line
                answer.set_result(f"the database cannot be reached ({type(exc).__name__})")

        threading.Thread(target=check, name="readiness-check", daemon=True).start()
        try:
            return answer.result(timeout=READY_TIMEOUT)
        except TimeoutError:
            return f"the database did not answer within {READY_TIMEOUT:.0f} s"


def _json(start_response: StartResponse, status: str, body: dict[str, str]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
