"""The emulator's HTTP side: a stdlib threaded server, routing and argument decoding; no Slack logic."""

from __future__ import annotations

import json
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from .calls import Answer


class Backend(Protocol):
    """What the HTTP server calls, from its request threads."""

    server_errors: list[str]

    def handle_api_call(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> Answer: ...

    def handle_upload(self, file_id: str, content: bytes) -> Answer: ...

    def handle_response_url(self, path: str, body: bytes) -> Answer: ...


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for handlers that sleep on an injected delay

    def __init__(self, backend: Backend) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.backend = backend
        # A short poll interval: shutdown() waits for it, and tests start and stop many emulators.
        self.thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.02}, name="slack-emulator", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints to stderr; keep tests quiet but keep the evidence.
        self.backend.server_errors.append(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    server: HttpServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the stdlib logs every request to stderr

    def _dispatch(self) -> None:
        backend = self.server.backend
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            if url.path.startswith("/api/"):
                answer = self._api_call(url.path.removeprefix("/api/"), url.query, body)
            elif url.path.startswith("/upload/"):
                answer = backend.handle_upload(url.path.removeprefix("/upload/"), body)
            elif url.path.startswith("/response/"):
                answer = backend.handle_response_url(url.path, body)
            else:
                answer = Answer.text(404, "not found")
            self._send(answer)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. timed out during an injected delay)
        except Exception:  # noqa: BLE001 - a bug in the emulator must not kill the server; it is recorded
            backend.server_errors.append(traceback.format_exc())
            self._send(Answer(500, {"ok": False, "error": "emulator_error"}))

    def _api_call(self, method: str, query: str, body: bytes) -> Answer:
        try:
            params = decode_params(query, self.headers.get("Content-Type") or "", body)
        except ValueError:
            return Answer.slack({"ok": False, "error": "invalid_json"})
        return self.server.backend.handle_api_call(method, params, dict(self.headers.items()))

    def _send(self, answer: Answer) -> None:
        text = answer.raw_body if answer.raw_body is not None else json.dumps(answer.response)
        data = text.encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(data))}
        self.send_response(answer.status)
        for name, value in (headers | answer.headers).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def decode_params(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """Arguments as Slack reads them: the query string, plus a form or JSON body (JSON stays structured)."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if "application/json" in content_type:
        decoded = json.loads(body or b"{}")
        if not isinstance(decoded, dict):
            raise ValueError("a JSON body must be an object")
        params.update(decoded)
    elif body:
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    return params
