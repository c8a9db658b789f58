"""Input rules shared by every surface (slash commands, modals, CLI).

Every text the bot stores passes `clean_characters`, and every text a modal collects has one `TextField` whose
`limit` is both the modal input's `max_length` and the rule the server enforces: a forged submission that skips
Slack's check gets the same refusal as a command would.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.services.errors import InvalidInput

RISK_TIERS = ("low", "medium", "high")
KEY_PATTERN = re.compile(r"^\s*ai-(\d{1,9})\s*$", re.IGNORECASE)
USER_ID_PATTERN = re.compile(r"^[UW][A-Z0-9]{2,30}$")
CHANNEL_ID_PATTERN = re.compile(r"^[CGD][A-Z0-9]{2,30}$")

# Invisible characters that change how the text around them is shown: bidirectional embeddings and overrides
# (U+202A-202E) and isolates (U+2066-2069) can make "txt.exe" read "exe.txt"; the zero-width space (U+200B), word
# joiner (U+2060) and byte-order mark (U+FEFF) make a blank title or two names that look alike. The zero-width
# non-joiner and joiner (U+200C, U+200D) stay: Persian and Indic scripts and emoji sequences need them.
SPOOFING_CHARACTERS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u2060\ufeff")
# Letters and symbols that draw nothing, so a title made of them would look empty.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


@dataclass(frozen=True)
class TextField:
    """A text people type: the service argument (and modal input block) it arrives in, the words messages use
    for it, and the most characters it may hold."""

    name: str
    label: str
    limit: int


TITLE = TextField("title", "title", 150)
DESCRIPTION = TextField("description", "description", 3000)
PROBLEM = TextField("problem", "business problem", 3000)
KPI_NAME = TextField("kpi_name", "KPI", 200)
KPI_BASELINE = TextField("kpi_baseline", "KPI baseline", 100)
KPI_TARGET = TextField("kpi_target", "KPI target", 100)
BUSINESS_UNIT = TextField("business_unit", "team or business unit", 100)
MLFLOW_MODEL = TextField("mlflow_model", "MLflow registered model", 256)
TAGS = TextField("tags", "tags", 500)  # all of them, joined by commas, as typed into one input
COMMENT = TextField("comment", "comment", 3000)
REASON = TextField("reason", "reason", 500)
EVIDENCE_LINKS = TextField("evidence_links", "evidence links", 3000)  # all of them, one per line
INITIATIVE_TEXTS = {field.name: field for field in (TITLE, DESCRIPTION, PROBLEM, KPI_NAME, KPI_BASELINE, KPI_TARGET,
                                                    BUSINESS_UNIT, MLFLOW_MODEL)}


def clean_model_name(raw: str | None) -> str | None:
    """An MLflow registered model's name as stored: None when empty (the initiative names no model)."""
    return clean_text(raw or "", MLFLOW_MODEL) or None


def clean_characters(raw: str) -> str:
    """`raw` without what must never be stored or shown: control characters (NUL breaks PostgreSQL; newlines and
    tabs stay, CRLF becomes LF), lone surrogates, and the invisible characters that spoof display."""
    if raw.isascii() and raw.isprintable():
        return raw  # nothing to remove: every character above is either non-ASCII or unprintable (an import's cells)
    return "".join(ch for ch in raw.replace("\r\n", "\n")
                   if ch in "\t\n" or (ch not in SPOOFING_CHARACTERS and unicodedata.category(ch) not in ("Cc", "Cs")))


def clean_strings(value: Any) -> Any:
    """A JSON-like document (gate definitions) with `clean_characters` applied to every string in it."""
    if isinstance(value, str):
        return clean_characters(value)
    if isinstance(value, dict):
        return {clean_strings(k): clean_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_strings(v) for v in value]
    return value


def has_visible_character(text: str) -> bool:
    """Whether `text` draws anything: a letter, digit, punctuation or symbol, not only spaces, marks or format
    characters."""
    return any(unicodedata.category(ch)[0] not in "CZM" and ch not in _BLANK_GLYPHS for ch in text)


def parse_key(text: str) -> int:
    """`AI-12`, `ai-12` -> 12."""
    match = KEY_PATTERN.match(text or "")
    if not match:
        raise InvalidInput(f"'{_clip(text)}' is not an initiative key; keys look like AI-12.")
    return int(match.group(1))


def parse_date(text: str, *, field: str) -> date:
    """A date typed as YYYY-MM-DD; InvalidInput under `field` otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"'{text[:40]}' is not a date; write it as YYYY-MM-DD, e.g. 2027-03-15.",
                           field=field) from None


def clean_title(title: str) -> str:
    title = " ".join(clean_characters(title or "").split())
    if not title:
        raise InvalidInput("A title is required.", field=TITLE.name)
    if not has_visible_character(title):
        raise InvalidInput("The title has only invisible characters; type words people can see, like Churn "
                           "prediction for retail.", field=TITLE.name)
    if len(title) > TITLE.limit:
        raise InvalidInput(f"The title is {len(title)} characters long; keep it within {TITLE.limit}.",
                           field=TITLE.name)
    return title


def clean_text(value: str | None, field: TextField) -> str:
    value = clean_characters(value or "").strip()
    if len(value) > field.limit:
        raise InvalidInput(f"The {field.label} is {len(value)} characters long; keep it within {field.limit}.",
                           field=field.name)
    return value


def clean_reason(reason: str | None, *, what: str = REASON.label) -> str:
    """A required reason (why changes are needed, why it is waived, retired or moved)."""
    reason = clean_text(reason, TextField(REASON.name, what, REASON.limit))
    if not has_visible_character(reason):
        raise InvalidInput(f"Please give a {what}.", field=REASON.name)
    return reason


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Tags as stored: lower case, each once, sorted; together within the Tags input's limit."""
    cleaned = sorted({tag for tag in (clean_characters(str(t)).strip().lower() for t in tags) if tag})
    length = len(",".join(cleaned))
    if length > TAGS.limit:
        raise InvalidInput(f"The tags are {length} characters long together; keep them within {TAGS.limit}.",
                           field=TAGS.name)
    return cleaned


def check_risk_tier(risk_tier: str) -> str:
    risk_tier = (risk_tier or "").strip().lower()
    if risk_tier not in RISK_TIERS:
        raise InvalidInput(f"Risk must be one of {', '.join(RISK_TIERS)}; got '{_clip(risk_tier)}'.",
                           field="risk_tier")
    return risk_tier


def check_user_id(user_id: str, *, field: str | None = None) -> str:
    if not USER_ID_PATTERN.match(user_id or ""):
        raise InvalidInput(f"'{_clip(user_id)}' is not a Slack user; mention someone with @.", field=field)
    return user_id


def check_channel_id(channel_id: str, *, field: str = "channel_id") -> str:
    channel_id = (channel_id or "").strip()
    if not CHANNEL_ID_PATTERN.match(channel_id):
        raise InvalidInput(f"'{_clip(channel_id)}' is not a channel; pick one as you type #, or give its ID, "
                           f"like C012AB3CD.", field=field)
    return channel_id


def _clip(text: str | None, limit: int = 40) -> str:
    text = clean_characters(text or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# A measure as people write it: a number with an optional unit after it (`4.2%`, `400 h`, `1200 EUR`) or an ISO
# 4217 currency code before it (`EUR 1200`). A decimal point only; "1,200" could be 1.2 or 1200, so it is refused.
_MEASURE = re.compile(r"^(?P<number>[+-]?\d{1,15}(?:\.\d{1,9})?)\s*(?P<unit>%|[^\W\d_][^\d]{0,19})?$")
_CODE_FIRST = re.compile(r"^(?P<unit>[A-Z]{3})\s*(?P<number>[+-]?\d{1,15}(?:\.\d{1,9})?)$")
KPI_UNIT_LIMIT = 20


def parse_measure(text: str) -> tuple[float, str] | None:
    """`(number, unit)` of a measure typed as text, or None when it is not unambiguously one number."""
    text = " ".join(clean_characters(text).split())
    match = _MEASURE.match(text) or _CODE_FIRST.match(text)
    if match is None:
        return None
    return float(match.group("number")), (match.group("unit") or "").strip()
