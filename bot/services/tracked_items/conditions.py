"""A Conditional Go's conditions as a signer writes them, one per line: `text [@person] [by YYYY-MM-DD]`.

The person is a Slack mention (`<@U123>` once the rich text is read); a line without one falls to the signer, a
line without a date to the gate's `condition_days` business days after the gate passes (in its owner's zone).
`today` is the signer's date: a written date must come after it. A line that cannot be
read refuses the whole approval, naming the line, so that nothing half-written is saved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.services.errors import InvalidInput
from bot.services.validation import clean_characters

FIELD = "conditions"  # the input a refusal is shown under
MAX_CONDITIONS = 20
MAX_TEXT = 500
MAX_DAYS_AHEAD = 730
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>")
_BY_DATE = re.compile(r"\s*\bby\s+(\S+)\s*$", re.IGNORECASE)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PLAIN_AT = re.compile(r"(?<![<\w])@[\w.\-]+")


@dataclass(frozen=True)
class DraftCondition:
    """A condition written on a sign-off, before the gate passes: `owner` None is the signer, `due_on` None the
    gate's default."""

    text: str
    owner: str | None = None
    due_on: date | None = None

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "owner": self.owner, "due_on": self.due_on.isoformat() if self.due_on else None}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> DraftCondition:
        due = value.get("due_on")
        return cls(text=str(value["text"]), owner=value.get("owner"), due_on=date.fromisoformat(due) if due else None)


def parse_conditions(lines: Iterable[str], *, today: date) -> list[DraftCondition]:
    """Every non-empty line as a condition, or InvalidInput (under the Conditions field) naming the first bad one."""
    drafts = []
    for number, raw in enumerate(lines, start=1):
        line = " ".join(clean_characters(raw).split())
        if line:
            drafts.append(_parse_line(line, number=number, today=today))
    if len(drafts) > MAX_CONDITIONS:
        raise InvalidInput(f"Set at most {MAX_CONDITIONS} conditions in one approval.", field=FIELD)
    return drafts


def _parse_line(line: str, *, number: int, today: date) -> DraftCondition:
    def refuse(why: str) -> InvalidInput:
        return InvalidInput(f"Line {number} (“{line[:60]}”): {why} Write it as "
                            "`text [@person] [by YYYY-MM-DD]`.", field=FIELD)

    mentions = _MENTION.findall(line)
    if len(mentions) > 1:
        raise refuse("name one person per condition.")
    text = _MENTION.sub(" ", line)
    due_on = None
    if (by := _BY_DATE.search(text)) is not None and (_ISO.match(by.group(1)) or by.group(1)[:1].isdigit()):
        due_on = _date(by.group(1), refuse)
        text = text[: by.start()]
    if (plain := _PLAIN_AT.search(text)) is not None:
        raise refuse(f"“{plain.group(0)[:40]}” is not a Slack mention; type @ and choose the person from the list.")
    text = " ".join(text.split()).strip(" -:,;\u2013\u2014")
    if not text:
        raise refuse("say what must be done.")
    if len(text) > MAX_TEXT:
        raise refuse(f"keep it within {MAX_TEXT} characters.")
    if due_on is not None and not today < due_on <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise refuse(f"{due_on.isoformat()} is not between tomorrow and two years from now.")
    return DraftCondition(text=text, owner=mentions[0] if mentions else None, due_on=due_on)


def _date(text: str, refuse: Any) -> date:
    try:
        if not _ISO.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise refuse(f"“{text[:20]}” is not a date; write it as YYYY-MM-DD, e.g. 2027-03-15.") from None
