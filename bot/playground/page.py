"""The playground's web page and the small JSON API behind it, served by the standard library.

Safe by default: it serves its own files only (static/, no fonts, CDNs or network), with a Content-Security-Policy
that runs no inline script, so text from users that the page shows can never run; it answers only requests whose
Host is the address it listens on (a web page elsewhere cannot reach it through DNS rebinding), and its API takes
only JSON bodies, which another site's form cannot send.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from bot.playground.stack import NAMES, PlaygroundStack

log = logging.getLogger(__name__)

STATIC: Final = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
MAX_BODY: Final = 256 * 1024


class Playground:
    """The page's server and the bot stack behind it; `reset()` swaps in a fresh stack."""

    def __init__(self, build_stack: Callable[[], PlaygroundStack], *, host: str, port: int) -> None:
        self._build_stack = build_stack
        self.stack = build_stack()
        self._reset_lock = threading.Lock()
        self.server = _PageServer((host, port), _Handler, self)
        self.host, self.port = host, self.server.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="playground-page", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.stack.close()

    def reset(self) -> None:
        with self._reset_lock:
            old, self.stack = self.stack, self._build_stack()
            old.close()

    def api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One POST from the page; the answer is the person's view afterwards, plus what the action said."""
        stack, user = self.stack, str(body.get("user", ""))
        if user not in NAMES:
            raise LookupError(f"nobody called {user!r} is in the playground")
        said: dict[str, Any] = {}
        if path == "/api/command":
            stack.command(user, _channel(stack, user, body), str(body.get("text", "")))
        elif path == "/api/action":
            entry = body.get("entry")
            stack.click(user, body.get("action") or {}, entry_seq=int(entry) if entry is not None else None,
                        surface=str(body.get("surface", "")), state=body.get("state") or {})
        elif path == "/api/submit":
            said["errors"] = stack.submit(user, body.get("values") or {})
        elif path == "/api/close":
            stack.close_modal(user)
        elif path == "/api/home":
            stack.open_home(user)
        elif path == "/api/jobs":
            job = {"nudges": stack.run_nudges, "digest": stack.post_digest, "morning": stack.next_morning}.get(
                str(body.get("job")))
            said["said"] = job() if job else "Unknown job."
        elif path == "/api/reset":
            self.reset()
            said["said"] = "A fresh playground."
        else:
            raise LookupError(path)
        return {**self.stack.view_of(user), **said}


def _channel(stack: PlaygroundStack, user: str, body: dict[str, Any]) -> str:
    channel = str(body.get("channel", ""))
    return stack.emulator.open_dm(user) if channel == "dm" else channel


class _PageServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], playground: Playground):
        self.address_family = socket.AF_INET6 if ":" in address[0] else self.address_family
        super().__init__(address, handler)
        self.playground = playground


class _Handler(BaseHTTPRequestHandler):
    server: _PageServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("page: " + format, *args)

    def do_GET(self) -> None:
        if not self._host_allowed():
            return
        url = urlsplit(self.path)
        playground = self.server.playground
        if url.path in STATIC:
            name, content_type = STATIC[url.path]
            self._send(200, (files("bot.playground") / "static" / name).read_bytes(), content_type)
        elif url.path == "/api/state":
            user = (parse_qs(url.query).get("user") or [""])[0]
            try:
                self._json(200, playground.stack.view_of(user))
            except LookupError:
                self._json(404, {"error": "no such person"})
        elif url.path.startswith("/files/"):
            content = playground.stack.file_content(url.path.removeprefix("/files/"))
            if content is None:
                self._json(404, {"error": "no such file"})
            else:
                self._send(200, content, "image/png")
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        if not self._host_allowed():
            return
        if "application/json" not in (self.headers.get("Content-Type") or ""):
            self._json(415, {"error": "send JSON"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(413, {"error": "too large"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            self._json(200, self.server.playground.api(urlsplit(self.path).path, body))
        except LookupError:
            self._json(404, {"error": "not found"})
        except ValueError:
            self._json(400, {"error": "invalid JSON"})

    def _host_allowed(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        listening = self.server.playground.host
        if host in (listening, "localhost", "127.0.0.1", "::1") or listening in ("0.0.0.0", "::"):
            return True
        self._json(421, {"error": "unexpected Host"})
        return False

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        for name, value in {**SECURITY_HEADERS, "Content-Type": content_type,
                            "Content-Length": str(len(data))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
