"""Check evidence links: is the page there? GET through the SSRF guard, redirects followed (each hop checked),
with a timeout per link and a bounded number of links in flight."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from bot.integrations.http import OutboundFailed, OutboundPolicy, OutboundRefused, fetch, guarded_client

log = logging.getLogger(__name__)

# Only the status matters; a page bigger than this still proves the link works, so the read stops there.
MAX_PAGE_BYTES = 2_000_000
# Signed-in pages answer 401/403 to the bot: the page exists, the bot just cannot read it.
REACHABLE_STATUSES = frozenset({401, 403})


@dataclass(frozen=True)
class LinkResult:
    state: str  # ok | broken | blocked
    status_code: int | None
    detail: str


def check_link(client: httpx.Client, url: str) -> LinkResult:
    """What one link's check found. Never raises: one bad link must not stop the check of the others."""
    try:
        answer = fetch(client, "GET", url, max_bytes=MAX_PAGE_BYTES)
    except OutboundRefused as exc:
        return LinkResult("blocked", None, f"not checked: {exc}"[:300])
    except OutboundFailed as exc:
        return LinkResult("broken", None, str(exc)[:300])
    except Exception as exc:  # noqa: BLE001 - a bug or an input no rule foresaw; the type is safe to show
        log.warning("evidence link check failed unexpectedly (%s)", type(exc).__name__)
        return LinkResult("broken", None, f"could not be checked ({type(exc).__name__})")
    if 200 <= answer.status_code < 300 or answer.status_code in REACHABLE_STATUSES:
        return LinkResult("ok", answer.status_code, f"HTTP {answer.status_code}")
    if answer.status_code in (301, 302, 303, 307, 308):
        return LinkResult("broken", answer.status_code, "redirects without a Location")
    return LinkResult("broken", answer.status_code, f"HTTP {answer.status_code}")


def check_links(urls: Iterable[str], *, policy: OutboundPolicy, timeout: float, concurrency: int
                ) -> dict[str, LinkResult]:
    """Every distinct URL checked, at most `concurrency` at a time, over one shared client."""
    unique = list(dict.fromkeys(urls))
    if not unique:
        return {}
    with guarded_client(policy, timeout=timeout) as client, ThreadPoolExecutor(max_workers=concurrency) as pool:
        return dict(zip(unique, pool.map(lambda url: check_link(client, url), unique), strict=True))
