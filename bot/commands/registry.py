"""The `/initiative <subcommand>` table: one explicit list, in `bot/listeners/commands.py`, builds it and the help.

Contract (also in docs/slack-surface.md):
- An area writes its handler, then describes it with a `Subcommand(name, handler, usage=(...))` constant beside it.
  `usage` lines are shown by `/initiative help` and after a bad-input error; `help_lines` overrides what help shows
  (empty: listed on another subcommand's line).
- The handler receives a `CommandContext` and the `Arguments` after the subcommand word, and returns a `Reply`
  (sent privately to the caller) or None when it answered another way (it opened a modal). A handler that may open a
  modal says `opens_modal=True`, so it runs before its trigger_id expires instead of queueing.
- Raise `UsageError` or any `bot.services.errors.DomainError`: the caller gets `str(error)` privately, followed
  by the subcommand's usage for bad input (`InvalidInput`, `NotFound`). Never catch-and-log.
- Add the constant to `SUBCOMMANDS` in `bot/listeners/commands.py`, where its place in the list is its place in
  the help.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.commands.text import Token
from bot.services.errors import InvalidInput

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.runtime import Runtime
    from bot.services.access.service import Actor

COMMAND = "/initiative"


class UsageError(InvalidInput):
    """The command text does not fit the grammar; the message says what was wrong."""


@dataclass(frozen=True)
class Arguments:
    """The words after the subcommand."""

    tokens: tuple[Token, ...]

    def __bool__(self) -> bool:
        return bool(self.tokens)


@dataclass(frozen=True)
class CommandContext:
    """What a subcommand handler needs: who asked, from where, and how to reach Slack right now."""

    runtime: Runtime
    actor: Actor
    channel_id: str
    trigger_id: str
    response_url: str
    client: WebClient


@dataclass(frozen=True)
class Reply:
    """A private answer: `text` is the plain-text fallback, `blocks` the Block Kit body (may be empty)."""

    text: str
    blocks: Sequence[Any] = field(default_factory=tuple)


Handler = Callable[[CommandContext, Arguments], Reply | None]


@dataclass(frozen=True)
class Subcommand:
    name: str  # a lower-case word
    handler: Handler
    usage: tuple[str, ...]
    help_lines: tuple[str, ...] | None = None
    opens_modal: bool = False  # its trigger_id expires 3 s after the command: it runs at once, never queued

    @property
    def shown_in_help(self) -> tuple[str, ...]:
        return self.usage if self.help_lines is None else self.help_lines


class SubcommandTable:
    """The subcommands `/initiative` knows, in help order. Built once, from one explicit list."""

    def __init__(self, subcommands: Sequence[Subcommand]) -> None:
        self._by_name: dict[str, Subcommand] = {}
        for sub in subcommands:
            if sub.name in self._by_name:
                raise ValueError(f"/initiative {sub.name} is listed twice")
            self._by_name[sub.name] = sub

    def __iter__(self) -> Iterator[Subcommand]:
        return iter(self._by_name.values())

    def find(self, name: str) -> Subcommand | None:
        return self._by_name.get(name.lower())

    @property
    def names(self) -> list[str]:
        return list(self._by_name)

    def help_text(self) -> str:
        return "\n".join(line for sub in self for line in sub.shown_in_help)

    def usage_of(self, name: str) -> str:
        found = self.find(name)
        return "\n".join(found.usage) if found else f"{COMMAND} help"
