"""The one way the bot makes outbound HTTP requests: an httpx client guarded against SSRF.

- Only `https://` targets, unless `allow_http`.
- The host is resolved by `resolve` and *every* address must be global (not loopback, private, link-local,
  shared, multicast, reserved...), unless `allow_private` or the host is on `allowed_hosts`.
- The connection goes to the address that was checked: the request URL's host is replaced by that IP, while the
  `Host` header and the TLS server name (SNI, and so certificate verification) keep the real name. A DNS answer
  that changes between the check and the connect (rebinding) therefore cannot redirect the request.
- Redirects are followed by `fetch` itself, a bounded number of hops, each hop checked like the first.
- Response bodies are read up to `max_bytes`; a longer body is an error, not a truncation.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from bot.config import Settings

MAX_REDIRECTS = 5
MAX_BODY_BYTES = 1_000_000
USER_AGENT = "initiative-bot (+https://github.com/initiative-bot)"


class OutboundRefused(Exception):
    """The target is not allowed (scheme, or an address that is not public); nothing was sent."""


class OutboundFailed(Exception):
    """The request was sent (or tried) and did not give a usable answer: timeout, TLS, too big, redirect loop."""


@dataclass(frozen=True)
class OutboundPolicy:
    allow_private: bool = False
    allow_http: bool = False
    # Hosts admitted whatever their addresses and scheme: "wiki.corp" exactly, ".corp" for its subdomains.
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)

    def admits_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == entry or (entry.startswith(".") and host.endswith(entry)) for entry in self.allowed_hosts)


@dataclass(frozen=True)
class Fetched:
    status_code: int
    headers: httpx.Headers
    body: bytes
    url: str  # after redirects


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to. Tests patch this function: it is the transport's only DNS step."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundFailed(f"{host} does not resolve ({exc.strerror})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: httpx.URL | str, policy: OutboundPolicy) -> None:
    """Refuse a URL by its scheme and, for an IP literal, its address. Names are checked at connect time."""
    url = httpx.URL(url)
    admitted = policy.admits_host(url.host)
    if url.scheme not in ("https", "http") or not url.host:
        raise OutboundRefused(f"{url} is not an https:// URL")
    if url.scheme == "http" and not (policy.allow_http or admitted):
        raise OutboundRefused(f"{url.host} is addressed over plain http; only https:// is allowed")
    if _is_ip(url.host) and not admitted:
        _check_addresses(url.host, [url.host], policy)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_addresses(host: str, addresses: Iterable[str], policy: OutboundPolicy) -> None:
    if policy.allow_private:
        return
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            raise OutboundRefused(f"{host} resolves to {address}, which is not a public address")


class GuardedTransport(httpx.BaseTransport):
    """Resolves, checks every address, then connects to the checked one (see the module docstring)."""

    def __init__(self, policy: OutboundPolicy, inner: httpx.BaseTransport | None = None) -> None:
        self.policy = policy
        self.inner = inner or httpx.HTTPTransport(retries=0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        check_url(url, self.policy)
        host = url.host
        if _is_ip(host):
            return self.inner.handle_request(request)
        addresses = resolve(host, url.port or (443 if url.scheme == "https" else 80))
        if not addresses:
            raise OutboundFailed(f"{host} does not resolve")
        if not self.policy.admits_host(host):
            _check_addresses(host, addresses, self.policy)
        pinned = addresses[0]
        request.url = url.copy_with(host=pinned)
        request.extensions = {**request.extensions, "sni_hostname": host}
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
        location = response.headers.get("location")
        if not (follow_redirects and response.is_redirect and location and method in ("GET", "HEAD")):
            return Fetched(response.status_code, response.headers, body, str(current))
        current = current.join(location)
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


def policy_from(settings: Settings, *, extra_hosts: Iterable[str] = ()) -> OutboundPolicy:
    return OutboundPolicy(allow_private=settings.outbound_allow_private, allow_http=settings.outbound_allow_http,
                          allowed_hosts=frozenset(settings.evidence_allowed_hosts) | frozenset(extra_hosts))
