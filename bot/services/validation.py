"""Input rules shared by every surface (slash commands, modals, CLI)."""

from __future__ import annotations

import re

from bot.services.errors import InvalidInput

RISK_TIERS = ("low", "medium", "high")
TITLE_MAX = 150
TEXT_MAX = 3000
REASON_MAX = 500
KEY_PATTERN = re.compile(r"^\s*ai-(\d{1,9})\s*$", re.IGNORECASE)
USER_ID_PATTERN = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def parse_key(text: str) -> int:
    """`AI-12`, `ai-12` -> 12."""
    match = KEY_PATTERN.match(text or "")
    if not match:
        raise InvalidInput(f"'{_clip(text)}' is not an initiative key; keys look like AI-12.")
    return int(match.group(1))


def clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise InvalidInput("A title is required.")
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"The title is {len(title)} characters long; keep it within {TITLE_MAX}.")
    return title


def clean_text(value: str | None, *, field: str, limit: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise InvalidInput(f"The {field} is {len(value)} characters long; keep it within {limit}.")
    return value


def clean_reason(reason: str | None, *, what: str = "reason") -> str:
    reason = clean_text(reason, field=what, limit=REASON_MAX)
    if not reason:
        raise InvalidInput(f"Please give a {what}.")
    return reason


def check_risk_tier(risk_tier: str) -> str:
    risk_tier = (risk_tier or "").strip().lower()
    if risk_tier not in RISK_TIERS:
        raise InvalidInput(f"Risk must be one of {', '.join(RISK_TIERS)}; got '{_clip(risk_tier)}'.")
    return risk_tier


def check_user_id(user_id: str) -> str:
    if not USER_ID_PATTERN.match(user_id or ""):
        raise InvalidInput(f"'{_clip(user_id)}' is not a Slack user; mention someone with @.")
    return user_id


def _clip(text: str | None, limit: int = 40) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
