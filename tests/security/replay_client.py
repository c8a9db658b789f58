"""One copy of a signed request, sent from its own OS process (`tests.support.processes.race`).

Each copy connects first, waits at the barrier, then sends its whole request at once: the copies reach serve on
separate connections at the same moment, as a replaying attacker (or Slack's own retries) would send them. This
module imports nothing of the bot, so ten processes start quickly."""

from __future__ import annotations

import socket
import traceback
from typing import Any


def send_copy(address: tuple[str, int], request: bytes, barrier: Any, results: Any) -> None:
    """Put `(status line, body)` of serve's answer on `results`."""
    try:
        with socket.create_connection(address, timeout=30) as connection:
            barrier.wait(timeout=60)
            connection.sendall(request)
            received = b""
            while chunk := connection.recv(65536):
                received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        results.put((head.split(b"\r\n")[0].decode(), body.decode()))
    except Exception:  # noqa: BLE001 (the parent test must see every failure, whatever it is)
        results.put(("error", traceback.format_exc()))
