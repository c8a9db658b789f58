"""Standard Webhooks signing and one delivery attempt over the guarded client.

Signature (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of random bytes; the signed
content is `{webhook-id}.{webhook-timestamp}.{body}`; the header is `v1,` + base64(HMAC-SHA256(key, content)),
where key is the base64-decoded part after `whsec_`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

import httpx

from bot.integrations.http import OutboundFailed, OutboundRefused, fetch

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
MAX_ANSWER_BYTES = 64_000  # receivers answer with a status; their body is only kept for the error message


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status_code: int | None
    error: str | None  # one line for the admin, when not ok


def deliver(client: httpx.Client, *, url: str, secret: str, message_id: str, body: bytes, timestamp: int) -> Attempt:
    """POST one signed event. Any 2xx is success; a redirect is a failure (receivers answer where they are)."""
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }
    try:
        answer = fetch(client, "POST", url, headers=headers, content=body, follow_redirects=False,
                       max_bytes=MAX_ANSWER_BYTES)
    except OutboundRefused as exc:
        return Attempt(False, None, f"refused: {exc}")
    except OutboundFailed as exc:
        return Attempt(False, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - one endpoint's surprise must not stop the other deliveries
        log.warning("webhook delivery failed unexpectedly (%s)", type(exc).__name__)
        return Attempt(False, None, f"could not be delivered ({type(exc).__name__})")
    if 200 <= answer.status_code < 300:
        return Attempt(True, answer.status_code, None)
    return Attempt(False, answer.status_code, f"the endpoint answered HTTP {answer.status_code}")
