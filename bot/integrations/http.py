"""The one way the bot makes outbound HTTP requests: an httpx client guarded against SSRF.

- Every request, and every redirect hop, is vetted by `bot.integrations.targets.vet` (the one rule set: scheme,
  port, address spellings, and every address of the host public unless the purpose's policy admits it).
- The connection goes to the address that was checked: the request URL's host is replaced by that IP, while the
  `Host` header and the TLS server name (SNI, and so certificate verification) keep the real name. A DNS answer
  that changes between the check and the connect (rebinding) therefore cannot redirect the request.
- Redirects are followed by `fetch` itself, a bounded number of hops, each hop checked like the first.
- Response bodies are read up to `max_bytes`; a longer body is an error, not a truncation.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bot.integrations.targets import OutboundFailed, OutboundPolicy, OutboundRefused, parse_target, vet

MAX_REDIRECTS = 5
MAX_BODY_BYTES = 1_000_000
USER_AGENT = "initiative-bot (+https://github.com/initiative-bot)"


@dataclass(frozen=True)
class Fetched:
    status_code: int
    headers: httpx.Headers
    body: bytes
    url: str  # after redirects


class GuardedTransport(httpx.BaseTransport):
    """Resolves, checks every address, then connects to the checked one (see the module docstring)."""

    def __init__(self, policy: OutboundPolicy, inner: httpx.BaseTransport | None = None) -> None:
        self.policy = policy
        self.inner = inner or httpx.HTTPTransport(retries=0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = vet(str(request.url), self.policy)
        request.url = request.url.copy_with(host=target.addresses[0])
        if target.literal is None:
            request.extensions = {**request.extensions, "sni_hostname": target.host}
        # httpx set the Host header from the original URL when it built the request, so it still names `host`.
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def guarded_client(policy: OutboundPolicy, *, timeout: float) -> httpx.Client:
    """A client whose every connection goes through the guard. Redirects are left to `fetch`."""
    return httpx.Client(
        transport=GuardedTransport(policy), timeout=httpx.Timeout(timeout), follow_redirects=False,
        headers={"user-agent": USER_AGENT},
    )


def fetch(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    params: dict[str, str] | None = None,
    follow_redirects: bool = True,
    max_redirects: int = MAX_REDIRECTS,
    max_bytes: int = MAX_BODY_BYTES,
) -> Fetched:
    """One request (and its redirects, each hop checked), with the body read up to `max_bytes`.

    Raises OutboundRefused when a hop is not allowed (nothing is sent to it) and OutboundFailed when no usable
    answer came back. Redirects of a POST are not followed: the 3xx is returned.
    """
    parse_target(url)  # a URL httpx cannot parse is refused with the reason, not with httpx's InvalidURL
    seen: set[str] = set()
    current = httpx.URL(url, params=params) if params else httpx.URL(url)
    for _ in range(max_redirects + 1):
        seen.add(str(current))
        try:
            with client.stream(method, current, headers=headers, content=content) as response:
                body = _read_capped(response, max_bytes)
        except httpx.TimeoutException:
            raise OutboundFailed(f"{current.host} did not answer in time") from None
        except httpx.ConnectError as exc:
            raise OutboundFailed(f"could not connect to {current.host}: {_reason(exc)}") from None
        except httpx.TransportError as exc:
            raise OutboundFailed(f"{current.host} broke off the exchange: {_reason(exc)}") from None
        except httpx.HTTPError as exc:
            raise OutboundFailed(f"{current.host} gave an unusable answer ({type(exc).__name__})") from None
        location = response.headers.get("location")
        if not (follow_redirects and response.is_redirect and location and method in ("GET", "HEAD")):
            return Fetched(response.status_code, response.headers, body, str(current))
        try:
            current = current.join(location)
        except httpx.InvalidURL:
            raise OutboundRefused(f"{current.host} redirects to an invalid URL") from None
        if str(current) in seen:
            raise OutboundFailed(f"{current.host} redirects in a loop")
    raise OutboundFailed(f"more than {max_redirects} redirects")


def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise OutboundFailed(f"the answer is larger than {max_bytes} bytes")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise OutboundFailed(f"the answer is larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
        return "its TLS certificate could not be verified"
    return text.splitlines()[0][:150]
