"""Texts about webhook endpoints, for `/initiative webhooks` and the CLI (pure: data in, text out)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.services.webhooks.service import EVENT_TYPES
from storage.models import WebhookEndpoint


def registered_text(endpoint: WebhookEndpoint, secret: str) -> str:
    return (f"Webhook {endpoint.id} registered: {endpoint.url} receives {events_of(endpoint)}.\n"
            f"Signing secret (shown only now; keep it with the receiver): {secret}\n"
            f"Verify each delivery as docs/integrations.md describes.")


def endpoint_lines(endpoints: Sequence[WebhookEndpoint]) -> str:
    if not endpoints:
        return "No webhooks are registered. Add one with `/initiative webhooks add <https URL> [events…]`."
    return "\n".join(endpoint_line(endpoint) for endpoint in endpoints)


def endpoint_line(endpoint: WebhookEndpoint) -> str:
    if endpoint.enabled:
        state = "enabled" + (f", {endpoint.consecutive_failures} failed in a row" if endpoint.consecutive_failures
                             else "")
    else:
        state = f"disabled after {endpoint.consecutive_failures} failures ({endpoint.last_error})"
    skips = " (not about confidential initiatives)" if endpoint.skip_confidential else ""
    return f"{endpoint.id}. {endpoint.url} - {events_of(endpoint)}{skips} - {state}"


def events_of(endpoint: WebhookEndpoint) -> str:
    return ", ".join(endpoint.events) if endpoint.events else "all events"


def removed_text(endpoint: WebhookEndpoint) -> str:
    return f"Webhook {endpoint.id} ({endpoint.url}) removed; its undelivered events were dropped."


EVENTS_HELP = ("Events: " + ", ".join(EVENT_TYPES) + " (default: all). Add `skip-confidential` to send none about "
               "confidential initiatives.")
