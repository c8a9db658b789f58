"""`/initiative kpi …`: record an actual, open the KPI modal, or define a KPI.

- `kpi <KEY>`                                              the modal, to record or correct an actual
- `kpi <KEY> <value> [YYYY-MM-DD] [note]`                  an actual of the first KPI
- `kpi <KEY> "<kpi name>" <value> [YYYY-MM-DD] [note]`      an actual of the KPI of that name
- `kpi <KEY> define "<kpi name>" baseline=<m> target=<m> [direction=lower|higher] [by=YYYY-MM-DD]`
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.commands.grammar import _key
from bot.commands.registry import Arguments, UsageError

_QUOTES = '"“”'
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CODE = re.compile(r"^[A-Z]{3}$")  # an ISO 4217 currency code
_NUMBER = re.compile(r"^[+-]?[\d.,]+$")
_DEFINE_OPTIONS = ("baseline", "target", "direction", "by")
RECORD_EXAMPLE = '`/initiative kpi AI-12 3.9% 2026-12-01 after the November release` or `/initiative kpi AI-12 ' \
                 '"Monthly churn" 3.9%`'
DEFINE_EXAMPLE = '`/initiative kpi AI-12 define "Monthly churn" baseline=4.2% target=3.5% by=2027-06-30`'


@dataclass(frozen=True)
class RecordKpi:
    key: str
    kpi_name: str | None  # None: the first KPI
    value: str | None  # None: open the modal
    measured_on: date | None = None  # None: today
    note: str = ""


@dataclass(frozen=True)
class DefineKpi:
    key: str
    name: str
    baseline: str
    target: str
    direction: str | None = None
    target_date: date | None = None


def parse_kpi(args: Arguments) -> RecordKpi | DefineKpi:
    if not args:
        raise UsageError(f"Say which initiative and the value, for example {RECORD_EXAMPLE}.")
    key = _key(args.tokens[0])
    words = [token.text for token in args.tokens[1:]]
    if words and words[0].lower() == "define":
        return _define(key, words[1:])
    name, words = _name(words)
    if not words:
        if name is not None:
            raise UsageError(f'Give the value of "{name}" after its name, for example {RECORD_EXAMPLE}.')
        return RecordKpi(key=key, kpi_name=None, value=None)
    value, words = _value(words)
    measured_on = None
    if words and _DATE.match(words[0]):
        measured_on = _date(words[0])
        words = words[1:]
    return RecordKpi(key=key, kpi_name=name, value=value, measured_on=measured_on, note=" ".join(words).strip())


def _value(words: list[str]) -> tuple[str, list[str]]:
    """The value, one word, or two when a currency code or % stands apart from the number (`1200 EUR`,
    `EUR 1200`, `4 %`); the words after it."""
    if len(words) > 1 and (_CODE.match(words[1]) or words[1] == "%") and _NUMBER.match(words[0]):
        return f"{words[0]} {words[1]}", words[2:]
    if len(words) > 1 and _CODE.match(words[0]) and _NUMBER.match(words[1]):
        return f"{words[0]} {words[1]}", words[2:]
    return words[0], words[1:]


def _define(key: str, words: list[str]) -> DefineKpi:
    name, words = _name(words)
    if name is None:
        raise UsageError(f"Name the KPI in quotes, for example {DEFINE_EXAMPLE}.")
    options: dict[str, str] = {}
    last = None
    for word in words:
        option, _, value = word.partition("=")
        if not _ and last is not None:  # `baseline=1200 EUR`: a word without `=` goes on with the value before
            options[last] += f" {word}"
            continue
        last = option.lower()
        if option.lower() not in _DEFINE_OPTIONS or not value:
            raise UsageError(f"'{word}' is not one of baseline=, target=, direction=, by=; for example "
                             f"{DEFINE_EXAMPLE}.")
        options[option.lower()] = value
    if "baseline" not in options or "target" not in options:
        raise UsageError(f"Give the KPI's baseline= and target=, for example {DEFINE_EXAMPLE}.")
    direction = options.get("direction", "").lower() or None
    if direction not in (None, "higher", "lower"):
        raise UsageError("direction= is `higher` or `lower`: which way is better.")
    return DefineKpi(key=key, name=name, baseline=options["baseline"], target=options["target"], direction=direction,
                     target_date=_date(options["by"]) if "by" in options else None)


def _name(words: list[str]) -> tuple[str | None, list[str]]:
    """A leading quoted name (it may span words) and the words after it."""
    if not words or words[0][:1] not in _QUOTES:
        return None, words
    for end, word in enumerate(words):
        if (word[-1:] in _QUOTES) and (end > 0 or len(word) > 1):
            name = " ".join(words[: end + 1])[1:-1].strip()
            if not name:
                raise UsageError(f"The KPI's name between the quotes is empty; for example {RECORD_EXAMPLE}.")
            return name, words[end + 1:]
    raise UsageError(f"Close the quote after the KPI's name, as in {RECORD_EXAMPLE}.")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"'{text}' is not a date; write it as YYYY-MM-DD, like 2026-12-01.") from None
