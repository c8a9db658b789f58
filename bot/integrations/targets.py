"""Which outbound targets the bot may reach: one rule set, applied when a target is registered (`webhooks add`,
evidence links on a sign-off) and again when the guarded client connects (`bot.integrations.http`).

`vet(url, policy)`, in order:
- the URL parses (`parse_target`, whatever the policy): `http://` or `https://`, a host, a port from 1 to 65535,
  and IP addresses written the standard way (a.b.c.d, or IPv6 in brackets). The operating system reads
  `2130706433`, `0x7f000001`, `0x7f.1`, `127.1` and `0177.0.0.1` as 127.0.0.1, so such spellings are refused;
- `https://` only, unless the policy allows http or the host is on its allow-list;
- every address of the target is public, unless the policy allows private addresses or the host is on its
  allow-list. `localhost`, `localhost.` and `*.localhost` are loopback by definition (RFC 6761); a name is
  resolved by the policy's resolver and each of its addresses checked; a name that does not resolve is refused.
  An IPv6 address carrying an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64
  `64:ff9b::/96`, 6to4 `2002::/16`) is judged by that IPv4 address; local-use NAT64 (`64:ff9b:1::/48`) is
  never public.

Each purpose (webhooks, evidence links, MLflow) has its own policy, built from its own allow-list: a host
admitted for evidence links is not admitted for webhooks.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as LookupTimeout
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import httpx

from bot.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# getaddrinfo has no timeout of its own; a lookup that takes longer than this is a failure (a sign-off modal
# must be answered within Slack's 3 seconds).
RESOLVE_SECONDS = 2.0
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NUMBER_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")
_NAME_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")


class OutboundError(Exception):
    """`str()` is one short clause, safe to show and log: it names the host, never the whole URL."""


class OutboundRefused(OutboundError):
    """The target is not allowed (scheme, port, spelling, or an address that is not public); nothing was sent."""


class OutboundFailed(OutboundError):
    """The request was sent (or tried) and did not give a usable answer: timeout, TLS, too big, redirect loop,
    or a name that does not resolve."""


@dataclass(frozen=True)
class OutboundPolicy:
    allow_private: bool = False
    allow_http: bool = False
    # Hosts admitted whatever their addresses and scheme: "wiki.corp" exactly, ".corp" for its subdomains.
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    # How names become addresses; None is the system's DNS (`resolve` below, looked up when called, so a test
    # can replace it for every policy the bot builds).
    resolve: Resolver | None = None

    def admits_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == entry or (entry.startswith(".") and host.endswith(entry)) for entry in self.allowed_hosts)

    def addresses_of(self, host: str, port: int) -> list[str]:
        return (self.resolve or resolve)(host, port)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower case, without a trailing dot; an IPv6 address without brackets
    port: int
    literal: IPAddress | None  # the host, when it is an IP address
    addresses: tuple[str, ...] = ()  # what `vet` checked, in the resolver's order: connect to these only


def webhook_policy(settings: Settings) -> OutboundPolicy:
    return _policy(settings, settings.webhook_allowed_hosts)


def evidence_policy(settings: Settings) -> OutboundPolicy:
    return _policy(settings, settings.evidence_allowed_hosts)


def mlflow_policy(settings: Settings) -> OutboundPolicy:
    """The tracking server is the operator's own choice, so its (often internal) host is admitted, and only it."""
    host = (urlsplit(settings.mlflow_tracking_uri).hostname or "") if settings.mlflow_tracking_uri else ""
    return _policy(settings, frozenset({host}) if host else frozenset())


def _policy(settings: Settings, allowed_hosts: frozenset[str]) -> OutboundPolicy:
    return OutboundPolicy(allow_private=settings.outbound_allow_private, allow_http=settings.outbound_allow_http,
                          allowed_hosts=frozenset(allowed_hosts))


def vet(url: str, policy: OutboundPolicy) -> Target:
    """The target of `url` with the addresses to connect to, or OutboundRefused / OutboundFailed (see above)."""
    target = parse_target(url)
    admitted = policy.admits_host(target.host)
    if target.scheme == "http" and not (policy.allow_http or admitted):
        raise OutboundRefused(f"{target.host} is addressed over plain http; only https:// is allowed")
    skip_address_rule = policy.allow_private or admitted
    if target.literal is not None:
        if not skip_address_rule:
            _require_public(target.host, target.literal)
        return replace(target, addresses=(str(target.literal),))
    if _is_localhost(target.host) and not skip_address_rule:
        raise OutboundRefused(f"{target.host} is this machine (loopback), not a public address")
    addresses = policy.addresses_of(target.host, target.port)
    if not addresses:
        raise OutboundFailed(f"{target.host} does not resolve")
    if not skip_address_rule:
        for address in addresses:
            _require_public(target.host, ipaddress.ip_address(address))
    return replace(target, addresses=tuple(addresses))


def vet_each(urls: Sequence[str], policy: OutboundPolicy | None) -> list[OutboundError | None]:
    """`vet` of each URL (None where it passes), the names resolved side by side: all of it within about
    RESOLVE_SECONDS, however many links an approver pastes. Without a policy, only `parse_target`'s rules."""
    problems: list[OutboundError | None] = [None] * len(urls)
    pending: dict[int, Future[Target]] = {}
    for index, url in enumerate(urls):
        try:
            parse_target(url)
        except OutboundError as exc:
            problems[index] = exc
        else:
            if policy is not None:
                pending[index] = _vetting.submit(vet, url, policy)
    # Each system lookup gives up after RESOLVE_SECONDS; the margin covers lookups queued behind others.
    deadline = time.monotonic() + RESOLVE_SECONDS + 0.5
    for index, future in pending.items():
        try:
            future.result(timeout=max(0.0, deadline - time.monotonic()))
        except OutboundError as exc:
            problems[index] = exc
        except LookupTimeout:
            problems[index] = OutboundFailed(f"{parse_target(urls[index]).host} did not resolve within "
                                             f"{RESOLVE_SECONDS:g} s")
    return problems


def parse_target(url: str) -> Target:
    """Scheme, host and port of `url`, by the rules that hold whatever the policy; no DNS."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise OutboundRefused("it is not a valid URL") from None
    try:
        port = parts.port
    except ValueError:
        raise OutboundRefused("its port is not a number from 1 to 65535") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise OutboundRefused("it is not an https:// URL")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise OutboundRefused("it names no host")
    if port == 0:
        raise OutboundRefused("its port is not a number from 1 to 65535")
    literal = _ipv6_literal(host) if ":" in host else _ipv4_literal(host)
    if literal is None:
        _require_valid_name(host)
    try:
        httpx.URL(url.strip())  # what the client will build from it must parse too
    except httpx.InvalidURL:
        raise OutboundRefused("it is not a valid URL") from None
    return Target(scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80), literal=literal)


def _ipv6_literal(host: str) -> ipaddress.IPv6Address:
    if "%" in host:
        raise OutboundRefused(f"{host[:60]} has an IPv6 zone; give a global address")
    try:
        return ipaddress.IPv6Address(host)
    except ValueError:
        raise OutboundRefused(f"{host[:60]} is not a valid IPv6 address") from None


def _ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """The address a host written with numbers stands for (None for a name), by the rules browsers and the
    operating system apply (WHATWG URL "IPv4 parser"), refused unless written the standard way."""
    labels = host.split(".")
    if not _NUMBER_LABEL.fullmatch(labels[-1]):
        return None
    if len(labels) > 4 or not all(_NUMBER_LABEL.fullmatch(label) for label in labels):
        raise OutboundRefused(f"{host[:60]} is neither a host name nor an IP address")
    try:
        *head, last = [_ipv4_number(label) for label in labels]
    except ValueError:
        raise OutboundRefused(f"{host[:60]} is not a valid IP address") from None
    if any(number > 255 for number in head) or last >= 256 ** (5 - len(labels)):
        raise OutboundRefused(f"{host[:60]} is not a valid IP address")
    address = ipaddress.IPv4Address(sum(n << 8 * (3 - i) for i, n in enumerate(head)) + last)
    if str(address) != host:
        raise OutboundRefused(f"{host[:60]} is a non-standard spelling of the IP address {address}; write IP "
                              f"addresses as four decimal numbers")
    return address


def _ipv4_number(label: str) -> int:
    if label.startswith("0x"):
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8)
    return int(label)


def _require_valid_name(host: str) -> None:
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = ""
    if not ascii_host or len(ascii_host) > 253 or not all(_NAME_LABEL.fullmatch(p) for p in ascii_host.split(".")):
        raise OutboundRefused(f"{host[:60]!r} is not a valid host name")


def _is_localhost(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


def _require_public(host: str, address: IPAddress) -> None:
    judged = _judged_address(address) if isinstance(address, ipaddress.IPv6Address) else address
    if judged is not None and judged.is_global and not judged.is_multicast:
        return
    carried = f" (which carries {judged})" if judged is not None and judged != address else ""
    if host == str(address):
        raise OutboundRefused(f"{address}{carried} is not a public address")
    raise OutboundRefused(f"{host} resolves to {address}{carried}, which is not a public address")


def _judged_address(address: ipaddress.IPv6Address) -> IPAddress | None:
    """The address to judge for an IPv6 one: the IPv4 address it carries, the address itself when it carries
    none, None when it is not public whatever it carries."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _LOCAL_NAT64:
        return None
    # `::` and `::1` lie in the IPv4-compatible block but are the unspecified and loopback addresses themselves.
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


_lookups = ThreadPoolExecutor(max_workers=8, thread_name_prefix="resolve")
_vetting = ThreadPoolExecutor(max_workers=8, thread_name_prefix="vet")


def resolve(host: str, port: int) -> list[str]:
    """Every address the system's DNS gives `host`, within RESOLVE_SECONDS."""
    lookup = _lookups.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = lookup.result(timeout=RESOLVE_SECONDS)
    except LookupTimeout:
        raise OutboundFailed(f"{host} did not resolve within {RESOLVE_SECONDS:g} s") from None
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundFailed(f"{host} does not resolve ({getattr(exc, 'strerror', None) or exc})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
