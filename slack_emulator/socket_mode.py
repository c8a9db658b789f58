"""Slack's Socket Mode endpoint: the WebSocket URL that apps.connections.open hands out."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

# Envelope types whose ack may carry a response payload (Slack sets `accepts_response_payload`).
_RESPONSE_PAYLOAD_TYPES = {"slash_commands"}
_RESPONSE_PAYLOAD_INTERACTIONS = {"view_submission", "block_suggestion"}

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SocketAck:
    """An acknowledgement sent back by the app: `{"envelope_id": ..., "payload": ...}`."""

    envelope_id: str
    payload: dict[str, Any] | None
    received_at: float


class SocketModeServer:
    """A WebSocket server that speaks the Socket Mode protocol to one or more connected apps."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.connected = threading.Event()
        self._lock = threading.Condition()
        self._connections: list[ServerConnection] = []
        self._tickets: set[str] = set()
        self._acks: list[SocketAck] = []
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._server = serve(
            self._handle, "127.0.0.1", 0, process_request=self._check_ticket, logger=_logger, compression=None
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="slack-emulator-ws", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self.drop_connections()
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def drop_connections(self) -> None:
        """Close every connection from the server side, like a network failure or a Slack restart."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close(code=1001, reason="going away")

    @property
    def port(self) -> int:
        assert self._server is not None, "socket mode server is not running"
        return int(self._server.socket.getsockname()[1])

    def new_url(self) -> str:
        """A fresh `ws://.../link?ticket=...` URL, as apps.connections.open returns."""
        ticket = str(uuid.uuid4())
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link?ticket={ticket}&app_id={self.app_id}"

    @property
    def acks(self) -> list[SocketAck]:
        with self._lock:
            return list(self._acks)

    def clear_acks(self) -> None:
        with self._lock:
            self._acks.clear()

    def send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        envelope_id: str | None = None,
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Deliver an envelope to the most recently connected app; returns its envelope_id."""
        envelope_id = envelope_id or str(uuid.uuid4())
        accepts_payload = envelope_type in _RESPONSE_PAYLOAD_TYPES or (
            envelope_type == "interactive" and payload.get("type") in _RESPONSE_PAYLOAD_INTERACTIONS
        )
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": accepts_payload,
        }
        if envelope_type == "events_api":
            envelope |= {"retry_attempt": retry_attempt, "retry_reason": retry_reason}
        self._latest_connection().send(json.dumps(envelope))
        return envelope_id

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the app to reconnect, as Slack does every few hours (`{"type": "disconnect"}`)."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "slack-emulator"}}
        self._latest_connection().send(json.dumps(message))

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> SocketAck:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for ack in self._acks:
                    if ack.envelope_id == envelope_id:
                        return ack
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [ack.envelope_id for ack in self._acks]
                    raise AssertionError(
                        f"no ack for envelope {envelope_id} within {timeout}s; acks seen: {seen}"
                    )
                self._lock.wait(remaining)

    def _latest_connection(self) -> ServerConnection:
        with self._lock:
            if not self._connections:
                raise RuntimeError("no Socket Mode client is connected to the emulator")
            return self._connections[-1]

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        # Only URLs issued by apps.connections.open are accepted, as on Slack.
        ticket = parse_qs(urlsplit(request.path).query).get("ticket", [""])[0]
        with self._lock:
            known = ticket in self._tickets
        return None if known else connection.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")

    def _handle(self, connection: ServerConnection) -> None:
        with self._lock:
            num_connections = len(self._connections) + 1
        hello = {
            "type": "hello",
            "num_connections": num_connections,
            "debug_info": {"host": "slack-emulator", "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        try:
            connection.send(json.dumps(hello))
            with self._lock:
                self._connections.append(connection)
            self.connected.set()
            for message in connection:
                self._receive(message)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)
                if not self._connections:
                    self.connected.clear()

    def _receive(self, message: str | bytes) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            return
        if isinstance(data, dict) and isinstance(data.get("envelope_id"), str):
            ack = SocketAck(data["envelope_id"], data.get("payload"), time.time())
            with self._lock:
                self._acks.append(ack)
                self._lock.notify_all()
