"""Slow, idle and oversized requests cannot take `serve` down or fill its memory and logs (issue 22, items 1-2).

Timings asserted here are Slack's own deadlines (an acknowledgement within 3 s) and the health check's (the
2 s a load balancer allows before it marks a replica down), not speed."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from bot.edge import MAX_BODY_BYTES
from bot.edge_worker import BODY_TIMEOUT, HEAD_TIMEOUT, MAX_BUFFERED_BYTES
from slack_emulator.requests import FORM, post_signed
from tests.security.conftest import LONGEST_LOG_LINE, THREADS, Target
from tests.support.slack_app import SIGNING_SECRET

HEAD = (
    "POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: {type}\r\nX-Slack-Request-Timestamp: 1\r\n"
    "X-Slack-Signature: v0=0\r\n{framing}\r\n"
)
FIFTY_MB = 50 * 1024 * 1024


def head(framing: str) -> bytes:
    return HEAD.format(type=FORM, framing=framing).encode()


@pytest.mark.deadline
def test_idle_and_stalled_connections_hold_up_neither_the_health_check_nor_slacks_commands(target: Target) -> None:
    attackers = [target.connect() for _ in range(2 * THREADS)]  # connected, nothing sent
    attackers += [target.connect(head("Content-Length: 1000\r\n") + b"payload=") for _ in range(2 * THREADS)]
    attackers += [target.connect(b"POST /slack/events HTTP/1.1\r\nHost: b") for _ in range(THREADS)]  # half a head
    try:
        health = httpx.get(target.bot.url + "/healthz", timeout=2)
        command = post_signed(target.events_url, target.command("help"), SIGNING_SECRET, timeout=3)

        assert health.status_code == 200
        assert command.status_code == 200
        # Nor do they keep their sockets: each is closed once its head or body is overdue.
        for attacker in attackers:
            attacker.settimeout(HEAD_TIMEOUT + BODY_TIMEOUT + 5)
            assert _closed_by_server(attacker)
    finally:
        for attacker in attackers:
            attacker.close()


def test_a_declared_body_over_the_limit_gets_413_before_it_is_sent(target: Target) -> None:
    with target.connect(head(f"Content-Length: {FIFTY_MB}\r\n") + b"payload=") as client:
        status = _status_line(client)  # answered though only 8 of the 50 MB bytes were sent

    assert status.startswith("HTTP/1.1 413")


def test_a_head_that_keeps_growing_is_refused(target: Target) -> None:
    with target.connect(b"GET /healthz HTTP/1.1\r\nHost: bot\r\nX-Filler: " + b"a" * 200_000) as client:
        status = _status_line(client)

    assert status.startswith("HTTP/1.1 431")


def test_a_chunked_body_is_cut_as_soon_as_it_passes_the_limit(target: Target) -> None:
    chunk = b"a" * 64 * 1024
    chunks = (MAX_BODY_BYTES // len(chunk)) + 1
    with target.connect(head("Transfer-Encoding: chunked\r\n")) as client:
        for _ in range(chunks):
            client.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status = _status_line(client)  # the body has not ended: no last chunk was sent

    assert status.startswith("HTTP/1.1 413")


def test_a_50_mb_unsigned_post_gets_413_and_leaves_only_short_log_lines(target: Target) -> None:
    log = target.log_window()

    headers = {"Content-Type": FORM, "Content-Length": str(FIFTY_MB)}
    response = httpx.post(target.events_url, content=_zeros(FIFTY_MB), headers=headers, timeout=10)

    assert response.status_code == 413
    assert any("refused a request: body over 1,048,576 bytes" in line for line in log.lines)
    assert max(len(line) for line in log.lines) <= LONGEST_LOG_LINE


def test_a_flood_of_large_bodies_gets_503_once_the_worker_holds_its_budget_and_the_worker_recovers(
    target: Target,
) -> None:
    """Each body is under the limit, but together they would fill the worker's memory."""
    almost_whole = b"payload=" + b"x" * (MAX_BODY_BYTES - 100)  # declared 1 MiB; the last 92 bytes never come
    log = target.log_window()
    flood = []
    try:
        for _ in range(MAX_BUFFERED_BYTES // len(almost_whole) + 1):
            # A generous wait (no deadline of Slack's is at stake): on a loaded machine the worker takes seconds to
            # read the flood before it answers the connection over budget.
            flood.append(target.connect(head(f"Content-Length: {MAX_BODY_BYTES}\r\n") + almost_whole, timeout=30))
        over_budget = _status_line(flood[-1])
        health = httpx.get(target.bot.url + "/healthz", timeout=2)
    finally:
        for client in flood:
            client.close()
    after = _when_not_busy(lambda: post_signed(target.events_url, target.command("help"), SIGNING_SECRET))

    assert over_budget.startswith("HTTP/1.1 503")
    assert health.status_code == 200  # no body: the budget does not concern it
    assert after.status_code == 200  # the flood's bodies were given back when their connections closed
    assert not [line for line in log.lines if "ERROR" in line or "Traceback" in line]


def test_a_signed_request_just_under_the_limit_is_still_served(target: Target) -> None:
    """The limit refuses what Slack never sends, not what it does."""
    text = "x" * (MAX_BODY_BYTES - 2_000)

    response = post_signed(target.events_url, target.command(text), SIGNING_SECRET)

    assert response.status_code == 200


def test_honest_clients_keep_their_connections_pipeline_and_may_expect_100_continue(target: Target) -> None:
    """What the buffering worker must still do for well-behaved HTTP/1.1 clients and proxies."""
    with target.connect(b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n" * 2) as client:
        pipelined = _read_until(client, lambda received: received.count(b'{"status": "ok"}') == 2)
    with target.connect(head("Content-Length: 12\r\nExpect: 100-continue\r\n")) as client:
        interim = _status_line(client)
        client.sendall(b"payload=1234")
        final = _read_until(client, lambda received: b"\r\n\r\n" in received)

    assert pipelined.count(b"HTTP/1.1 200") == 2
    assert interim.startswith("HTTP/1.1 100")
    assert b"HTTP/1.1 401" in final  # the body was read, then refused for its signature


def _read_until(client: socket.socket, done: Callable[[bytes], bool]) -> bytes:
    received = b""
    while not done(received):
        data = client.recv(4096)
        assert data, f"the connection closed after {received!r}"
        received += data
    return received


def _when_not_busy(send: Callable[[], httpx.Response], patience: float = 5) -> httpx.Response:
    """The first answer that is not 503, as Slack's retries would get it (the worker learns of the closed
    connections an instant after they close)."""
    deadline = time.monotonic() + patience
    while (response := send()).status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.1)
    return response


def _zeros(size: int) -> Iterator[bytes]:
    block = b"0" * (1024 * 1024)
    for _ in range(size // len(block)):
        yield block


def _status_line(client: socket.socket) -> str:
    return _read_until(client, lambda received: b"\r\n" in received).split(b"\r\n", 1)[0].decode()


def _closed_by_server(client: socket.socket) -> bool:
    try:
        while client.recv(4096):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True
