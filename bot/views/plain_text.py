"""Block Kit and mrkdwn as a person reads them in Slack, for a terminal (the demo, the CLI) and the playground.

Pure: blocks or mrkdwn in, text out. Mentions become names (`<@U1>` -> `@Maria`, `<#C1>` -> `#ai-portfolio`),
`<!date^…>` becomes the date in words in the reader's zone (as Slack's clients write it, saying the zone when a
time is shown), links become `text (url)`, `*bold*` and `_italics_` lose their markers (or become ANSI bold and
italics on a terminal that shows them), the emoji the bot uses become the emoji, and entities are unescaped.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

UTC = ZoneInfo("UTC")
EMOJI = {"red_circle": "🔴", "large_yellow_circle": "🟡", "large_green_circle": "🟢", "warning": "⚠️",
         "white_check_mark": "✅", "x": "❌", "tada": "🎉", "hourglass_flowing_sand": "⏳", "arrow_right": "➡️"}
_ANGLE = re.compile(r"<([^<>\n]+)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_CODE_BLOCK = re.compile(r"```\n?(.*?)\n?```", re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
_EMOJI = re.compile(r":([a-z0-9_+-]+):")
_DATE_TOKEN = re.compile(r"\{(date_num|date|date_short|date_long|date_pretty|date_short_pretty|date_long_pretty|"
                         r"time|time_secs|ago)\}")
_QUOTE = re.compile(r"^&gt; ?", re.MULTILINE)
_PERSON = re.compile(r"<@([UW][A-Z0-9]+)[|>]")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)[|>]")


@dataclass(frozen=True)
class Reader:
    """Who reads: their zone (times are shown in it), the names they see for people and channels, and their
    `now` (for "today", "yesterday" and "3 days ago"; None: dates are never relative). `ansi` shows bold and
    italics as a terminal's escape codes instead of dropping the markers."""

    zone: ZoneInfo = UTC
    people: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    now: datetime | None = None
    ansi: bool = False


def mentioned(blocks: Sequence[Mapping[str, Any]]) -> tuple[set[str], set[str]]:
    """The people (`<@U1>`) and channels (`<#C1>`) that `blocks` mention: whose names a reader needs."""
    text = json.dumps(list(blocks))
    return set(_PERSON.findall(text)), set(_CHANNEL.findall(text))


def render_message(payload: Mapping[str, Any], reader: Reader) -> str:
    """A message (`text` and `blocks`) or a view (`title` and `blocks`) as text: its blocks, else its text."""
    blocks = payload.get("blocks") or ()
    body = render_blocks(blocks, reader) if blocks else render_mrkdwn(str(payload.get("text") or ""), reader)
    title = payload.get("title")
    if isinstance(title, Mapping):  # a modal: its title first, as Slack shows it
        return f"{_bold(str(title.get('text', '')), reader)}\n{body}"
    return body


def render_blocks(blocks: Sequence[Mapping[str, Any]], reader: Reader) -> str:
    return "\n".join(line for block in blocks if (line := _block(block, reader)) is not None)


def render_mrkdwn(text: str, reader: Reader) -> str:
    """One mrkdwn string as read in Slack."""
    text = _CODE_BLOCK.sub(lambda m: "\n".join("    " + line for line in m.group(1).splitlines()), text)
    text = _QUOTE.sub("│ ", text)
    text = _ANGLE.sub(lambda m: _angle(m.group(1), reader), text)
    text = _CODE.sub(r"\1", text)
    text = _BOLD.sub(lambda m: _bold(m.group(1), reader), text)
    text = _ITALIC.sub(lambda m: _styled(m.group(1), "3", reader), text)
    text = _STRIKE.sub(lambda m: _styled(m.group(1), "9", reader), text)
    text = _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def format_date(moment: datetime, fmt: str, reader: Reader) -> str:
    """Slack's `<!date^…^fmt>` tokens, filled in in the reader's zone: `{date_short_pretty} at {time}` ->
    `today at 17:00 CET`, `Dec 2, 2026 at 09:30 EST`."""
    local = moment.astimezone(reader.zone)

    def token(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "ago":
            return _ago(moment, reader.now)
        if name in ("time", "time_secs"):
            return local.strftime("%H:%M:%S" if name == "time_secs" else "%H:%M") + f" {local:%Z}"
        relative = _relative_day(local.date(), reader) if name.endswith("_pretty") else None
        return relative or _DATE_FORMATS[name.removesuffix("_pretty")](local.date())

    return _DATE_TOKEN.sub(token, fmt)


def _block(block: Mapping[str, Any], reader: Reader) -> str | None:
    kind = block.get("type")
    if kind == "header":
        return _bold(_text(block.get("text"), reader), reader)
    if kind == "section":
        parts = [_text(block.get("text"), reader)] if block.get("text") else []
        parts += [_field(f, reader) for f in block.get("fields") or ()]
        if accessory := block.get("accessory"):
            parts.append(_element(accessory, reader))
        return "\n".join(part for part in parts if part)
    if kind == "context":
        return "  ".join(_text(e, reader) if e.get("type") != "image" else "" for e in block.get("elements", ()))
    if kind == "actions":
        return "  ".join(_element(e, reader) for e in block.get("elements", ()))
    if kind == "input":
        hint = f"\n  ({_text(block['hint'], reader)})" if block.get("hint") else ""
        label = _text(block.get("label"), reader) + (" (optional)" if block.get("optional") else "")
        return f"{_bold(label, reader)}\n{_element(block['element'], reader)}{hint}"
    if kind == "divider":
        return "─" * 40
    if kind == "image":
        return f"[image: {block.get('alt_text', '')}]"
    return None


def _field(text_object: Mapping[str, Any], reader: Reader) -> str:
    """A field `*Label*\\nvalue` reads as `Label: value` (a value of several lines indented below its label), as
    the two-column layout does in Slack."""
    raw = str(text_object.get("text", ""))
    label, newline, value = raw.partition("\n")
    if not (newline and _BOLD.fullmatch(label)):
        return _text(text_object, reader)
    label, value = render_mrkdwn(label, reader), render_mrkdwn(value, reader)
    return f"{label}: {value}" if "\n" not in value else f"{label}:\n" + textwrap.indent(value, "  ")


def _element(element: Mapping[str, Any], reader: Reader) -> str:
    kind = element.get("type")
    if kind == "button":
        return f"[{_text(element.get('text'), reader)}]"
    if kind in ("checkboxes", "radio_buttons"):
        chosen = {str(o.get("value")) for o in element.get("initial_options") or ()}
        marks = ("☑", "☐") if kind == "checkboxes" else ("◉", "○")
        return "\n".join(f"  {marks[0] if o.get('value') in chosen else marks[1]} {_text(o.get('text'), reader)}"
                         for o in element.get("options", ()))
    if kind in ("static_select", "multi_static_select"):
        options = ", ".join(_text(o.get("text"), reader) for o in element.get("options", ()))
        return f"  [choose: {options}]"
    placeholder = element.get("placeholder")
    return f"  [{_text(placeholder, reader) if placeholder else '…'}]"


def _text(text_object: Mapping[str, Any] | str | None, reader: Reader) -> str:
    if text_object is None:
        return ""
    if isinstance(text_object, str):
        return text_object
    text = str(text_object.get("text", ""))
    return render_mrkdwn(text, reader) if text_object.get("type") == "mrkdwn" else text


def _angle(inside: str, reader: Reader) -> str:
    """What Slack shows for `<…>`: a mention, a channel, a special mention, a date or a link."""
    target, _, label = inside.partition("|")
    if target.startswith("@"):
        user_id = target[1:]
        return "@" + (reader.people.get(user_id) or label or user_id)
    if target.startswith("#"):
        channel_id = target[1:]
        return "#" + (reader.channels.get(channel_id) or label or channel_id)
    if target.startswith("!date^"):
        return _date(target, label, reader)
    if target.startswith("!subteam^"):
        return label or "@group"
    if target.startswith("!"):
        return "@" + target[1:]
    return f"{label} ({target})" if label and label != target else target


def _date(target: str, fallback: str, reader: Reader) -> str:
    parts = target.split("^")  # !date, timestamp, format[, link]
    try:
        moment = datetime.fromtimestamp(int(parts[1]), UTC)
        fmt = parts[2]
    except (IndexError, ValueError, OverflowError, OSError):
        return fallback
    return format_date(moment, fmt, reader)


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


_DATE_FORMATS = {
    "date_num": lambda d: d.isoformat(),
    "date": lambda d: f"{d:%B} {_ordinal(d.day)}, {d.year}",
    "date_short": lambda d: f"{d:%b} {d.day}, {d.year}",
    "date_long": lambda d: f"{d:%A}, {d:%B} {_ordinal(d.day)}, {d.year}",
}


def _relative_day(day: date, reader: Reader) -> str | None:
    if reader.now is None:
        return None
    today = reader.now.astimezone(reader.zone).date()
    return {today: "today", today - timedelta(days=1): "yesterday", today + timedelta(days=1): "tomorrow"}.get(day)


def _ago(moment: datetime, now: datetime | None) -> str:
    if now is None:
        return f"{moment:%Y-%m-%d %H:%M} UTC"
    seconds = int((now - moment).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            amount = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {amount}" if future else f"{amount} ago"
    return "just now"


def _bold(text: str, reader: Reader) -> str:
    return _styled(text, "1", reader)


def _styled(text: str, code: str, reader: Reader) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if reader.ansi else text
