"""The core subcommands' grammar: `Arguments` -> typed commands, or a `UsageError` saying what was wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.commands.registry import Arguments, UsageError
from bot.commands.text import MAX_COMMAND_LENGTH, Token, token_of
from bot.services.errors import InvalidInput
from bot.services.validation import parse_key

ROLE_ALIASES = {"eng": "engineering"}
_OPTION = re.compile(r"^([A-Za-z][A-Za-z_-]{0,31})=(.*)$", re.DOTALL)


@dataclass(frozen=True)
class NewCommand:
    title: str | None  # None: open the modal
    owners: dict[str, str] = field(default_factory=dict)
    risk_tier: str | None = None


@dataclass(frozen=True)
class ListCommand:
    scope: str | None = None  # None: active and paused; "mine"; "all" (retired too); "stalled"; else a stage id


@dataclass(frozen=True)
class KeyCommand:
    key: str
    text: str = ""  # the rest: a comment or a reason


@dataclass(frozen=True)
class OwnersCommand:
    key: str
    owners: dict[str, str]


def check_length(raw: str) -> None:
    if len(raw) > MAX_COMMAND_LENGTH:
        raise UsageError(f"That command is {len(raw)} characters long; keep it within {MAX_COMMAND_LENGTH}.")


def parse_new(args: Arguments) -> NewCommand:
    if not args:
        return NewCommand(title=None)
    words: list[str] = []
    owners: dict[str, str] = {}
    risk: str | None = None
    for token in args.tokens:
        option = _option(token)
        if option is None:
            words.append(token.text)
        elif option[0] == "risk":
            risk = option[1].text.strip().lower()
            if not risk:
                raise UsageError("Give risk= a tier: risk=low, risk=medium or risk=high.")
        else:
            owners[option[0]] = _person(option[0], option[1])
    title = " ".join(words).strip()
    if not title:
        raise UsageError("Give the initiative a title before its owners, for example `/initiative new Churn model`.")
    return NewCommand(title=title, owners=owners, risk_tier=risk)


def parse_list(args: Arguments) -> ListCommand:
    if not args:
        return ListCommand()
    if len(args.tokens) > 1:
        raise UsageError("`list` takes one word: a stage, `mine`, `all` or `stalled`.")
    return ListCommand(scope=args.tokens[0].text.strip().lower())


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
    if any_value or name == "risk" or value.user_id or value.text.startswith("@") or not value.text:
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
