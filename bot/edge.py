"""The edge in front of Bolt: what a request to Slack's endpoint must pass before anything parses it.

`SlackEdge` wraps the endpoint (`bot.web`). In order, and before any byte is decoded or parsed:

1. size: a body over `MAX_BODY_BYTES` gets 413 without being read (serve's worker, `bot.edge_worker`, already
   refuses it while reading, chunked bodies included; this covers any other WSGI server);
2. timestamp: `X-Slack-Request-Timestamp` must be an integer (Slack's 5-minute window is checked with the
   signature);
3. signature: `X-Slack-Signature` over the timestamp and the raw body, by slack_sdk's `SignatureVerifier`, with the
   signing secret, or with the previous one while it is set (SLACK_PREVIOUS_SIGNING_SECRET, during a rotation).

A refused request gets 401 and one short WARNING line naming the path, the peer and the reason: never the body,
the headers' values or the signature. Bolt's own check is off (`bot.app.create_app`): it would parse nothing
more, and it logs the whole body when a signature fails.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_sdk.signature import SignatureVerifier

# Slack's payloads are a few kilobytes; the largest it sends (a view submission of a full modal) stays well
# under 100 KiB. 1 MiB leaves ample room, and caps what one request can make a worker hold in memory.
MAX_BODY_BYTES = 1024 * 1024

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class SlackEdge:
    def __init__(self, app: WsgiApp, *, signing_secret: str, previous_signing_secret: str | None = None) -> None:
        self.app = app
        self.verifiers = [SignatureVerifier(secret) for secret in (signing_secret, previous_signing_secret) if secret]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        declared = environ.get("CONTENT_LENGTH") or "0"
        if not (declared.isascii() and declared.isdigit()):
            return self._refuse(environ, start_response, "400 Bad Request", "Content-Length is not a number")
        if int(declared) > MAX_BODY_BYTES:
            return self._refuse(environ, start_response, "413 Content Too Large", f"body of {int(declared):,} bytes")
        body = environ["wsgi.input"].read(int(declared))
        refusal = self._authentication_failure(environ, body)
        if refusal:
            return self._refuse(environ, start_response, "401 Unauthorized", refusal)
        environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)

    def _authentication_failure(self, environ: dict[str, Any], body: bytes) -> str | None:
        """Why the request is not Slack's, or None when it is."""
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE")
        if timestamp is None or signature is None:
            return "no Slack signature headers"
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return "X-Slack-Request-Timestamp is not an integer"
        if not any(verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
                   for verifier in self.verifiers):
            age = round(time.time() - int(timestamp))
            return f"signature does not match (timestamp {age:,} s old; Slack's window is 300 s)"
        return None

    @staticmethod
    def _refuse(environ: dict[str, Any], start_response: StartResponse, status: str, reason: str) -> Iterable[bytes]:
        logger.warning(
            "refused %s %s from %s: %s",
            environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), environ.get("REMOTE_ADDR"), reason,
        )
        data = json.dumps({"error": status.split(" ", 1)[1].lower()}).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]
