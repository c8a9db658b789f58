"""A pausable TCP proxy on loopback, to stand in front of PostgreSQL for a database that stalls or is down.

    with TcpProxy("127.0.0.1", 5432) as proxy:       # forwards 127.0.0.1:proxy.port -> 127.0.0.1:5432
        url = make_url(database_url).set(port=proxy.port)
        proxy.pause()     # a network-level stall: connections stay open, the kernel still ACKs what the client
                          # sends (until its buffers fill), and nothing is forwarded either way
        proxy.resume()    # what was held is forwarded, and new connections are served again
        proxy.refuse()    # the database is down: existing connections are dropped, new ones are refused
                          # (the port is closed, so connecting gets ECONNREFUSED); resume() reopens it

It runs on a daemon thread of the test process and stops when the block ends, or by itself after `lifetime`
seconds, so a test that forgets it never leaves it running.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from dataclasses import dataclass, field

CHUNK = 65536
POLL_SECONDS = 0.02


@dataclass
class _Pipe:
    """One proxied connection: bytes read from one side wait in the other side's outbound buffer."""

    client: socket.socket
    upstream: socket.socket
    to_upstream: bytearray = field(default_factory=bytearray)
    to_client: bytearray = field(default_factory=bytearray)
    # One side has closed: what it sent before closing is still delivered (a COMMIT then a goodbye, say), then
    # the other side is closed too.
    ending: bool = False

    def close(self) -> None:
        self.client.close()
        self.upstream.close()


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, lifetime: float = 300) -> None:
        self.target = (target_host, target_port)
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._paused = False
        self._refusing = False
        self._stopped = threading.Event()
        self._pipes: list[_Pipe] = []
        self._listener: socket.socket | None = self._listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name=f"tcp-proxy-{self.port}", daemon=True)

    # ---- control ----------------------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """False once the proxy has stopped, by `stop()` or at the end of its lifetime."""
        return self._thread.is_alive()

    def pause(self) -> None:
        """Stop forwarding bytes both ways; connections stay open (and new ones are accepted, then held)."""
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        """Forward again; after `refuse()`, accept new connections again on the same port."""
        with self._lock:
            self._paused = False
            if self._refusing:
                self._listener = self._listen(self.port)
                self._refusing = False

    def refuse(self) -> None:
        """The database is down: drop every connection and close the port."""
        with self._lock:
            self._refusing = True
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for pipe in self._pipes:
                pipe.close()
            self._pipes.clear()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with self._lock:
            for pipe in self._pipes:
                pipe.close()
            self._pipes.clear()
            if self._listener is not None:
                self._listener.close()
                self._listener = None

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- the forwarding loop ------------------------------------------------------------------------------

    @staticmethod
    def _listen(port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        listener.setblocking(False)
        return listener

    def _run(self) -> None:
        ends_at = time.monotonic() + self.lifetime
        while not self._stopped.is_set() and time.monotonic() < ends_at:
            with self._lock:  # held for at most POLL_SECONDS, so pause() and friends act at once
                self._step()

    def _step(self) -> None:
        readers: list[socket.socket] = [self._listener] if self._listener is not None else []
        writers: list[socket.socket] = []
        if not self._paused:
            for pipe in self._pipes:
                readers += [pipe.client, pipe.upstream]
                writers += [s for s, pending in ((pipe.upstream, pipe.to_upstream), (pipe.client, pipe.to_client))
                            if pending]
        if not readers and not writers:
            time.sleep(POLL_SECONDS)
            return
        readable, writable, _ = select.select(readers, writers, [], POLL_SECONDS)
        if self._listener is not None and self._listener in readable:
            self._accept()
        for pipe in list(self._pipes):
            if not self._pump(pipe, readable, writable):
                pipe.close()
                self._pipes.remove(pipe)

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        try:
            upstream = socket.create_connection(self.target, timeout=2)
        except OSError:
            client.close()
            return
        client.setblocking(False)
        upstream.setblocking(False)
        self._pipes.append(_Pipe(client, upstream))

    @staticmethod
    def _pump(pipe: _Pipe, readable: list[socket.socket], writable: list[socket.socket]) -> bool:
        """Move what can move without blocking; False once the connection is over."""
        try:
            for source, buffer in ((pipe.client, pipe.to_upstream), (pipe.upstream, pipe.to_client)):
                if source in readable and not pipe.ending:
                    data = source.recv(CHUNK)
                    pipe.ending = not data
                    buffer += data
            for target, buffer in ((pipe.upstream, pipe.to_upstream), (pipe.client, pipe.to_client)):
                if target in writable and buffer:
                    sent = target.send(buffer)
                    del buffer[:sent]
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        return not (pipe.ending and not pipe.to_upstream and not pipe.to_client)
