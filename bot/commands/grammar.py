"""The core subcommands' grammar: `Arguments` -> typed commands, or a `UsageError` saying what was wrong."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.commands.registry import Arguments, UsageError
from bot.commands.text import MAX_COMMAND_LENGTH, Token, token_of, unescape
from bot.services.digest.service import RESERVED_NAMES
from bot.services.errors import InvalidInput
from bot.services.validation import parse_key

ROLE_ALIASES = {"eng": "engineering"}
_OPTION = re.compile(r"^([A-Za-z][A-Za-z_-]{0,31})=(.*)$", re.DOTALL)
DIGEST_OPTIONS = {"cron": "cron", "tz": "timezone", "timezone": "timezone", "tag": "tag", "unit": "business_unit",
                  "team": "business_unit", "filter": "filter"}
_QUOTE_MARKS = '"“”'  # Slack clients may curl double quotes


@dataclass(frozen=True)
class NewCommand:
    title: str | None  # None: open the modal
    owners: dict[str, str] = field(default_factory=dict)
    risk_tier: str | None = None
    confidential: bool = False


@dataclass(frozen=True)
class ListCommand:
    # None: active, paused and held; "mine"; "all" (killed and retired too); "stalled"; else a stage id
    scope: str | None = None


@dataclass(frozen=True)
class FindCommand:
    words: tuple[str, ...]  # as typed, unescaped; the search service reads words from them
    owners: tuple[str, ...] = ()  # the people mentioned: each must own what is found


@dataclass(frozen=True)
class KeyCommand:
    key: str
    text: str = ""  # the rest: a comment or a reason


@dataclass(frozen=True)
class HoldCommand:
    key: str
    until: str  # YYYY-MM-DD as typed; the service judges it
    reason: str


@dataclass(frozen=True)
class RecycleCommand:
    key: str
    to_stage: str
    reason: str  # what must be redone


@dataclass(frozen=True)
class ConditionCommand:
    action: str  # met | cancel | reassign
    key: str  # AI-7-C1, as typed; the service reads it
    text: str  # the evidence (met) or the reason (cancel, reassign)
    links: tuple[str, ...] = ()  # met: the evidence's links, for the evidence rules
    person: str | None = None  # reassign: the new owner
    until: str | None = None  # waive: the new expiry date, as typed


CONDITION_ACTIONS = ("met", "cancel", "reassign", "waive")


@dataclass(frozen=True)
class OwnersCommand:
    key: str
    owners: dict[str, str]


@dataclass(frozen=True)
class DigestCommand:
    action: str  # "preview", or one of RESERVED_NAMES
    name: str | None = None
    channel_id: str | None = None
    options: dict[str, str] = field(default_factory=dict)  # cron, timezone, tag, business_unit, filter ("none")


def check_length(raw: str) -> None:
    if len(raw) > MAX_COMMAND_LENGTH:
        raise UsageError(f"That command is {len(raw)} characters long; keep it within {MAX_COMMAND_LENGTH}.")


def parse_new(args: Arguments) -> NewCommand:
    if not args:
        return NewCommand(title=None)
    words: list[str] = []
    owners: dict[str, str] = {}
    risk: str | None = None
    confidential = False
    for token in args.tokens:
        option = _option(token)
        if option is None:
            words.append(token.text)
        elif option[0] == "confidential":
            confidential = parse_on_off(option[1].text, what="confidential=")
        elif option[0] == "risk":
            risk = option[1].text.strip().lower()
            if not risk:
                raise UsageError("Give risk= a tier: risk=low, risk=medium or risk=high.")
        else:
            owners[option[0]] = _person(option[0], option[1])
    title = " ".join(words).strip()
    if not title:
        raise UsageError("Give the initiative a title before its owners, for example `/initiative new Churn model`.")
    return NewCommand(title=title, owners=owners, risk_tier=risk, confidential=confidential)


def parse_on_off(word: str, *, what: str) -> bool:
    answer = {"yes": True, "on": True, "no": False, "off": False}.get(word.strip().lower())
    if answer is None:
        raise UsageError(f"Give {what} yes or no.")
    return answer


def parse_list(args: Arguments) -> ListCommand:
    if not args:
        return ListCommand()
    if len(args.tokens) > 1:
        raise UsageError("`list` takes one word: a stage, `mine`, `all` or `stalled`.")
    return ListCommand(scope=args.tokens[0].text.strip().lower())


def parse_find(args: Arguments) -> FindCommand:
    """`<words> [@owner …]`: any text; mentions say whose initiatives."""
    if not args:
        raise UsageError("Say what to look for: words from a title, description or tag, or an owner's @name.")
    return FindCommand(words=tuple(token.text for token in args.tokens if token.user_id is None),
                       owners=tuple(token.user_id for token in args.tokens if token.user_id is not None))


def parse_key_command(args: Arguments, *, text: str = "none") -> KeyCommand:
    """`<KEY> [text]`. `text` is "none" (nothing may follow), "optional" or "required" (a reason)."""
    if not args:
        raise UsageError("Say which initiative, for example AI-12.")
    key = _key(args.tokens[0])
    rest = " ".join(t.text for t in args.tokens[1:]).strip()
    if text == "none" and rest:
        raise UsageError(f"Only the key goes after the subcommand; remove '{_clip(rest)}'.")
    if text == "required" and not rest:
        raise UsageError(f"Give a reason after {key}.")
    return KeyCommand(key=key, text=rest)


@dataclass(frozen=True)
class ClassifyCommand:
    key: str
    override_tier: str | None = None  # `override <tier> <reason>`: the compliance owner's tier
    reason: str = ""


def parse_classify(args: Arguments) -> ClassifyCommand:
    """`<KEY>` or `<KEY> override <low|medium|high> <reason>`."""
    if not args:
        raise UsageError("Say which initiative, for example `/initiative classify AI-12`.")
    key = _key(args.tokens[0])
    words = [token.text for token in args.tokens[1:]]
    if not words:
        return ClassifyCommand(key=key)
    if words[0].lower() != "override" or len(words) < 2:
        raise UsageError(f"Write `/initiative classify {key}` for the questions, or `/initiative classify {key} "
                         "override high <reason>` to override the risk tier it set.")
    return ClassifyCommand(key=key, override_tier=words[1], reason=" ".join(words[2:]).strip())


def parse_hold(args: Arguments) -> HoldCommand:
    """`<KEY> until YYYY-MM-DD <reason>`."""
    words = [token.text for token in args.tokens]
    if len(words) < 4 or words[1].lower() != "until":
        raise UsageError("Write `/initiative hold AI-12 until 2027-03-15 <reason>`: the key, `until`, the revisit "
                         "date, then why.")
    return HoldCommand(key=_key(args.tokens[0]), until=words[2], reason=" ".join(words[3:]).strip())


def parse_recycle(args: Arguments) -> RecycleCommand:
    """`<KEY> to <stage> <what must be redone>`."""
    words = [token.text for token in args.tokens]
    if len(words) < 4 or words[1].lower() != "to":
        raise UsageError("Write `/initiative recycle AI-12 to pilot <what must be redone>`: the key, `to`, an "
                         "earlier stage, then what must be redone.")
    return RecycleCommand(key=_key(args.tokens[0]), to_stage=words[2], reason=" ".join(words[3:]).strip())


def parse_condition(args: Arguments) -> ConditionCommand:
    """`met <ID> <evidence or link>` | `cancel <ID> <reason>` | `reassign <ID> @person <reason>` |
    `waive <ID> until YYYY-MM-DD <reason>` (an expired waiver, waived again)."""
    words = [token.text for token in args.tokens]
    action = words[0].lower() if words else ""
    if action not in CONDITION_ACTIONS:
        raise UsageError("Say what to do with the condition: `met`, `cancel`, `reassign` or `waive`, then its id, e.g. "
                         "`/initiative condition met AI-7-C1 https://wiki.example.com/dpia`.")
    if len(words) < 2:
        raise UsageError(f"Say which condition, for example `/initiative condition {action} AI-7-C1 …`.")
    rest = list(args.tokens[2:])
    person = None
    if action == "reassign":
        if not rest:
            raise UsageError("Say whom to give it to and why: "
                             "`/initiative condition reassign AI-7-C1 @maria <reason>`.")
        person = _person("reassign", rest[0])
        rest = rest[1:]
    until = None
    if action == "waive":
        if len(rest) < 2 or rest[0].text.lower() != "until":
            raise UsageError(f"Say until when and why: `/initiative condition waive {words[1]} until 2027-03-15 "
                             "<reason>`.")
        until, rest = rest[1].text, rest[2:]
    text = " ".join(token.text for token in rest).strip()
    if not text:
        needed = {"met": "the evidence: a note or a link", "cancel": "a reason", "reassign": "a reason",
                  "waive": "a reason"}[action]
        raise UsageError(f"Give {needed} after {words[1]}.")
    links = tuple(token.text for token in rest if token.text.lower().startswith(("http://", "https://")))
    return ConditionCommand(action=action, key=words[1], text=text, links=links, person=person, until=until)


def parse_owners(args: Arguments) -> OwnersCommand:
    if not args:
        raise UsageError("Say which initiative, for example AI-12.")
    key = _key(args.tokens[0])
    owners: dict[str, str] = {}
    for token in args.tokens[1:]:
        option = _option(token, any_value=True)
        if option is None or option[0] == "risk":
            raise UsageError(f"'{_clip(token.text)}' is not a role=@person pair, such as business=@maria.")
        owners[option[0]] = _person(option[0], option[1])
    if not owners:
        raise UsageError("Name at least one owner, for example business=@maria.")
    return OwnersCommand(key=key, owners=owners)


def parse_digest(args: Arguments) -> DigestCommand:
    """`[<name>]` (preview) | `list` | `add <name> <#channel> [options]` | `edit <name> [<#channel>] [options]` |
    `enable|disable <name>`. Options: cron="0 9 * * 1", tz=Europe/Berlin, tag=…, unit=… (or team=…), filter=none;
    a value with spaces goes in quotes."""
    tokens = list(args.tokens)
    if not tokens:
        return DigestCommand(action="preview")
    action = tokens[0].text.lower()
    if action not in RESERVED_NAMES:
        if len(tokens) > 1:
            raise UsageError("Say `digest <name>` to preview one, or `digest list`, `add`, `edit`, `enable` or "
                             "`disable`.")
        return DigestCommand(action="preview", name=action)
    if action == "list":
        if len(tokens) > 1:
            raise UsageError("Nothing goes after `digest list`.")
        return DigestCommand(action=action)
    if len(tokens) < 2:
        raise UsageError(f"Say which digest, for example `digest {action} claims`.")
    name = tokens[1].text.lower()
    if action in ("enable", "disable"):
        if len(tokens) > 2:
            raise UsageError(f"Only the digest's name goes after `digest {action}`.")
        return DigestCommand(action=action, name=name)
    channel_id, options = _digest_options(tokens[2:])
    if action == "add" and channel_id is None:
        raise UsageError(f"Say which channel digest {name} posts to, for example `digest add {name} #claims-ai`.")
    if "filter" in options and options["filter"].lower() != "none":
        raise UsageError("`filter=` takes only `none`; filter by `tag=…` or `unit=…`.")
    return DigestCommand(action=action, name=name, channel_id=channel_id, options=options)


def _digest_options(tokens: list[Token]) -> tuple[str | None, dict[str, str]]:
    """The channel (a `<#C…|name>` link, or what the person typed for the service to judge) and the options."""
    channel: str | None = None
    options: dict[str, str] = {}
    rest = iter(tokens)
    for token in rest:
        match = _OPTION.match(token.raw)
        if match is None:
            if channel is not None:
                raise UsageError(f"'{_clip(token.text)}' is not understood; give one channel, then options such "
                                 f"as cron=\"0 9 * * 1\" or tz=Europe/Berlin.")
            channel = token.channel_id or token.text
            continue
        key = DIGEST_OPTIONS.get(match.group(1).lower())
        if key is None:
            raise UsageError(f"'{_clip(match.group(1))}=' is not an option; use cron=, tz=, tag=, unit= or "
                             f"filter=none.")
        if key in options:
            raise UsageError(f"Give {match.group(1).lower()}= once.")
        value = _quoted(match.group(1).lower(), [match.group(2)], rest)
        if not value:
            raise UsageError(f"Give {match.group(1).lower()}= a value, for example {_example(key)}.")
        options[key] = value
    return channel, options


def _quoted(name: str, parts: list[str], rest: Iterator[Token]) -> str:
    """A value, unescaped; one that opens a quote runs on over the next tokens to the closing quote."""
    if not parts[0][:1] or parts[0][0] not in _QUOTE_MARKS:
        return unescape(parts[0]).strip()
    parts[0] = parts[0][1:]
    while not parts[-1] or parts[-1][-1] not in _QUOTE_MARKS:
        following = next(rest, None)
        if following is None:
            raise UsageError(f"Close the quote after {name}=, as in cron=\"0 9 * * 1\".")
        parts.append(following.raw)
    return unescape(" ".join(parts)[:-1]).strip()


def _example(key: str) -> str:
    return {"cron": 'cron="0 9 * * 1"', "timezone": "tz=Europe/Berlin", "tag": "tag=genai",
            "business_unit": "unit=Claims", "filter": "filter=none"}[key]


def _key(token: Token) -> str:
    try:
        return f"AI-{parse_key(token.text)}"
    except InvalidInput as error:
        raise UsageError(str(error)) from None


def _option(token: Token, *, any_value: bool = False) -> tuple[str, Token] | None:
    """`name=value` -> (name, value token), when it is an option rather than words of a title."""
    match = _OPTION.match(token.raw)
    if not match:
        return None
    name = ROLE_ALIASES.get(match.group(1).lower(), match.group(1).lower())
    value = token_of(match.group(2))
    if any_value or name in ("risk", "confidential") or value.user_id or value.text.startswith("@") or not value.text:
        return name, value
    return None


def _person(role: str, value: Token) -> str:
    if value.user_id:
        return value.user_id
    if not value.text:
        raise UsageError(f"Give {role}= a person, for example {role}=@maria.")
    raise UsageError(f"'{_clip(value.text)}' is not a mention; type @ and pick the person, as in {role}=@maria.")


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
