"""`serve`'s gunicorn worker: each request is read whole, off the request threads, before the app sees it.

gunicorn's gthread worker hands every accepted connection to a request thread, which then blocks reading it: as
many idle or stalled sockets as there are threads (no bytes, or headers then silence) held every thread, and
`/healthz` and Slack's requests waited until those sockets closed (issue 22). Here one asyncio loop per worker
reads all connections, with h11 doing the HTTP/1.1 parsing:

- a request's head must arrive within `HEAD_TIMEOUT` (`keepalive` seconds for the next one on a kept-alive
  connection) and its body within `BODY_TIMEOUT`; a socket that misses either is closed;
- a body over `bot.edge.MAX_BODY_BYTES` gets 413 before it is read when its length is declared, and as soon as
  it passes the limit when it is chunked;
- all bodies held at once stay under `MAX_BUFFERED_BYTES` per worker: past it, a request gets 503 and
  `Retry-After` (Slack retries events), so a flood of large bodies cannot grow the worker's memory;
- only a request that has fully arrived takes one of the `--threads` request threads, to run the WSGI app;
  the answer is written back from the loop.

gunicorn's master stays as it is (`--workers`, hooks, heartbeats, restarts); the worker does not run gunicorn's
access log or request hooks. On SIGTERM the worker stops accepting, closes connections still waiting for a head,
lets every request whose head has arrived finish (up to `--graceful-timeout`), then returns, and gunicorn runs
the `worker_exit` hook (`bot.cli.serve`).
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import h11
from gunicorn.glogging import Logger
from gunicorn.workers import base

from bot.edge import MAX_BODY_BYTES
from bot.logs import formatter

# Slack sends a request in one go, within milliseconds; these only bound what a slow or idle client can hold.
HEAD_TIMEOUT = 10.0
BODY_TIMEOUT = 10.0
# Writing an answer to a client that does not read it.
WRITE_TIMEOUT = 10.0
# After a refusal (413, 503, a malformed head), how long the rest of the request is read and dropped, so the
# client can read the answer before the connection closes (closing with unread bytes makes the kernel reset the
# connection, and the answer is lost).
DISCARD_TIMEOUT = 2.0
# How much of a request's line and headers may be waiting for their end (h11's default; a head that arrives in
# one read may be up to READ_SIZE longer). Slack's are under 2 KiB.
MAX_HEAD_BYTES = 16 * 1024
READ_SIZE = 64 * 1024
# How often the worker tells the master it is alive (the master restarts a worker silent for `timeout` seconds).
HEARTBEAT_SECONDS = 1.0
# Headers that frame the message: the worker sets them for the buffered body, not the client or the app.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})

# Request bodies one worker holds at once (being read, or waiting for or in the app). Slack's requests are a few
# KiB each, so 64 MiB means a flood; refusing more keeps the worker's memory bounded (issue 22: six 50 MB posts
# took a worker from 100 MB to 514 MB).
MAX_BUFFERED_BYTES = 64 * 1024 * 1024

WsgiResult = tuple[str, list[tuple[str, str]], bytes]


class BodyTooLarge(Exception):
    pass


class WorkerFull(Exception):
    pass


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str  # for the log line
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Content-Type", "application/json")])


TOO_LARGE = Refusal(413, f"body over {MAX_BODY_BYTES:,} bytes", b'{"error": "content too large"}')
WORKER_FULL = Refusal(
    503,
    f"this worker already holds {MAX_BUFFERED_BYTES:,} bytes of request bodies",
    b'{"error": "busy, try again"}',
    [("Content-Type", "application/json"), ("Retry-After", "1")],
)


class BufferingWorker(base.Worker):
    """A gunicorn worker class (`worker_class="bot.edge_worker.BufferingWorker"`)."""

    def init_process(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.request_threads = ThreadPoolExecutor(max_workers=self.cfg.threads, thread_name_prefix="request")
        self.open_connections = 0
        self.requests_in_progress = 0  # head read, answer not yet written
        self.buffered_bytes = 0  # bodies held: see MAX_BUFFERED_BYTES
        self.waiting: set[asyncio.StreamWriter] = set()  # connections waiting for their next request's head
        super().init_process()  # loads the app, then calls run()

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        finally:
            self.request_threads.shutdown(wait=True)
            self.loop.close()

    async def _serve(self) -> None:
        servers = [
            await asyncio.start_server(self._connection, sock=listener.sock, limit=READ_SIZE)
            for listener in self.sockets
        ]
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                break
            await asyncio.sleep(HEARTBEAT_SECONDS)
        for server in servers:
            server.close()
        for writer in list(self.waiting):
            writer.close()
        deadline = self.loop.time() + self.cfg.graceful_timeout
        while self.requests_in_progress and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        # What is left (heads still arriving, requests past the graceful timeout) ends with the worker; Slack
        # retries what it had sent.
        unfinished = asyncio.all_tasks() - {asyncio.current_task()}
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.open_connections >= self.cfg.worker_connections or not self.alive:
            writer.close()
            return
        self.open_connections += 1
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        head_timeout = HEAD_TIMEOUT
        try:
            while self.alive:
                self.waiting.add(writer)
                try:
                    request = await asyncio.wait_for(_next_event(connection, reader), head_timeout)
                finally:
                    self.waiting.discard(writer)
                if not isinstance(request, h11.Request):
                    return  # the client closed the connection
                self.requests_in_progress += 1
                try:
                    keep_alive = await self._answer(connection, reader, writer, request)
                finally:
                    self.requests_in_progress -= 1
                if not keep_alive:
                    return
                connection.start_next_cycle()
                head_timeout = self.cfg.keepalive
        except h11.RemoteProtocolError as exc:
            if reader.at_eof():
                return  # the client went away in the middle of a request
            if connection.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                code = exc.error_status_hint
                malformed = Refusal(code, f"malformed HTTP ({code})", b'{"error": "malformed request"}')
                await self._refuse(connection, reader, writer, malformed)
        except (TimeoutError, ConnectionError):
            pass  # an idle, slow or vanished client: its connection is simply closed
        except Exception:
            self.log.exception("Error serving a connection from %s", writer.get_extra_info("peername"))
        finally:
            self.open_connections -= 1
            writer.close()

    async def _answer(
        self,
        connection: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: h11.Request,
    ) -> bool:
        """Read the body, run the app on a request thread, write its answer. Whether the connection may serve
        another request."""
        declared = dict(request.headers).get(b"content-length")
        if declared is not None and int(declared) > MAX_BODY_BYTES:
            return await self._refuse(connection, reader, writer, TOO_LARGE)
        if connection.they_are_waiting_for_100_continue:
            writer.write(connection.send(h11.InformationalResponse(status_code=100, headers=[])))
        body = bytearray()
        try:
            await asyncio.wait_for(self._read_body(connection, reader, body), BODY_TIMEOUT)
            environ = self._environ(request, bytes(body), writer)
            status, headers, content = await self.loop.run_in_executor(self.request_threads, self._call_app, environ)
        except BodyTooLarge:
            return await self._refuse(connection, reader, writer, TOO_LARGE)
        except WorkerFull:
            return await self._refuse(connection, reader, writer, WORKER_FULL)
        finally:
            self.buffered_bytes -= len(body)
        keep_alive = self.alive and self.cfg.keepalive > 0 and connection.their_state is h11.DONE
        code, _, reason = status.partition(" ")
        if request.method == b"HEAD":
            content = b""
        return await self._send(connection, writer, int(code), headers, content, keep_alive=keep_alive, reason=reason)

    async def _read_body(self, connection: h11.Connection, reader: asyncio.StreamReader, body: bytearray) -> None:
        """Read the body into `body`, counting what it holds in `buffered_bytes` (the caller gives it back)."""
        while True:
            event = await _next_event(connection, reader)
            if isinstance(event, h11.EndOfMessage):
                return
            if not isinstance(event, h11.Data):
                raise h11.RemoteProtocolError("the connection closed inside the body", error_status_hint=400)
            body += event.data
            self.buffered_bytes += len(event.data)
            if len(body) > MAX_BODY_BYTES:
                raise BodyTooLarge
            if self.buffered_bytes > MAX_BUFFERED_BYTES:
                raise WorkerFull

    async def _refuse(
        self, connection: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, refusal: Refusal
    ) -> bool:
        """Answer before the rest of the request is read, then close the connection (also when the client has
        gone already: the answer then goes nowhere)."""
        self.log.warning("refused a request: %s", refusal.reason)
        try:
            await self._send(connection, writer, refusal.status, refusal.headers, refusal.body, keep_alive=False)
            async with asyncio.timeout(DISCARD_TIMEOUT):
                while await reader.read(READ_SIZE):
                    pass
        except (TimeoutError, ConnectionError):
            pass
        return False

    async def _send(
        self,
        connection: h11.Connection,
        writer: asyncio.StreamWriter,
        code: int,
        headers: list[tuple[str, str]],
        content: bytes,
        *,
        keep_alive: bool,
        reason: str = "",
    ) -> bool:
        framed = [(name, value) for name, value in headers if name.lower() not in FRAMING_HEADERS]
        framed.append(("Content-Length", str(len(content))))
        if not keep_alive:
            framed.append(("Connection", "close"))
        writer.write(connection.send(h11.Response(status_code=code, headers=framed, reason=reason.encode())))
        if content:
            writer.write(connection.send(h11.Data(data=content)))
        writer.write(connection.send(h11.EndOfMessage()))
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)
        return keep_alive and connection.our_state is h11.DONE

    def _call_app(self, environ: dict[str, Any]) -> WsgiResult:
        """On a request thread: the app's status, headers and whole body."""
        answer: dict[str, Any] = {}
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            answer.update(status=status, headers=headers)
            return written.append

        try:
            result = self.wsgi(environ, start_response)
            try:
                written.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            self.log.exception("Error handling request %s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"])
            return "500 Internal Server Error", [], b""
        return answer["status"], answer["headers"], b"".join(written)

    def _environ(self, request: h11.Request, body: bytes, writer: asyncio.StreamWriter) -> dict[str, Any]:
        """The WSGI environ (PEP 3333) for a request whose body has been read whole."""
        path, _, query = request.target.decode("latin-1").partition("?")
        server = _host_and_port(writer.get_extra_info("sockname"))
        peer = _host_and_port(writer.get_extra_info("peername"))
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method.decode("ascii"),
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, encoding="latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": server[0],
            "SERVER_PORT": server[1],
            "SERVER_PROTOCOL": "HTTP/" + request.http_version.decode("ascii"),
            "REMOTE_ADDR": peer[0],
            "REMOTE_PORT": peer[1],
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": self.cfg.workers > 1,
            "wsgi.run_once": False,
        }
        for raw_name, raw_value in request.headers:
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            if name in FRAMING_HEADERS or "_" in name:
                continue  # framing is ours; an underscore would let `X_Slack_Signature` pose as `X-Slack-Signature`
            key = name.upper().replace("-", "_")
            if key != "CONTENT_TYPE":
                key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ


async def _next_event(connection: h11.Connection, reader: asyncio.StreamReader) -> Any:
    while True:
        event = connection.next_event()
        if event is not h11.NEED_DATA:
            return event
        connection.receive_data(await reader.read(READ_SIZE))  # b"" tells h11 the client closed


def _host_and_port(address: Any) -> tuple[str, str]:
    """A socket's address as WSGI wants it: (host, port) for TCP, (path, "") for a UNIX socket."""
    if isinstance(address, tuple):
        return str(address[0]), str(address[1])
    return str(address or ""), ""


class GunicornLogs(Logger):
    """gunicorn's own log lines (the master's, the workers' start and stop) in LOG_FORMAT, redacted as ours are
    (`bot.logs`)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(formatter())
