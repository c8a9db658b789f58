"""How a waiver's expiry warning reads in Slack, handed to the waivers domain (bot/services/waivers/scheduled.py)."""

from __future__ import annotations

from typing import Any

from bot.services.waivers.scheduled import ExpiryWarning
from bot.views.waivers import expiry_warning


def warning_payload(warning: ExpiryWarning) -> dict[str, Any]:
    return expiry_warning(warning).payload()
