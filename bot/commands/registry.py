"""The `/initiative <subcommand>` registry: every area adds its subcommands here from its own module.

Contract (also in docs/slack-surface.md):
- Decorate a handler with `@subcommand(name, usage=(...))`. `usage` lines are shown by `/initiative help` and
  after a bad-input error; `help_lines` overrides what help shows (empty: listed on another subcommand's line).
- The handler receives a `CommandContext` and the `Arguments` after the subcommand word, and returns a `Reply`
  (sent privately to the caller) or None when it answered another way (it opened a modal). A handler that may open a
  modal says `opens_modal=True`, so it runs before its trigger_id expires instead of queueing.
- Raise `UsageError` or any `bot.services.errors.DomainError`: the caller gets `str(error)` privately, followed
  by the subcommand's usage for bad input (`InvalidInput`, `NotFound`). Never catch-and-log.
- Add your module with one import line in `bot/listeners/commands.py` (SUBCOMMAND_MODULES).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.commands.text import Token
from bot.services.errors import InvalidInput

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.runtime import Runtime
    from bot.services.access.actors import Actor

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
    name: str
    usage: tuple[str, ...]
    handler: Handler
    help_lines: tuple[str, ...] | None = None
    order: int = 100
    opens_modal: bool = False  # its trigger_id expires 3 s after the command: it runs at once, never queued

    @property
    def shown_in_help(self) -> tuple[str, ...]:
        return self.usage if self.help_lines is None else self.help_lines


_REGISTRY: dict[str, Subcommand] = {}


def subcommand(
    name: str, *, usage: Sequence[str], help_lines: Sequence[str] | None = None, order: int = 100,
    opens_modal: bool = False,
) -> Callable[[Handler], Handler]:
    """Register `handler` as `/initiative <name>`. Names are lower-case words; registering one twice is a bug.
    `opens_modal`: the handler may open a modal (views.open), so it must run before the trigger expires."""

    def register(handler: Handler) -> Handler:
        if name in _REGISTRY and _REGISTRY[name].handler is not handler:
            raise ValueError(f"/initiative {name} is registered twice")
        _REGISTRY[name] = Subcommand(
            name=name, usage=tuple(usage), handler=handler,
            help_lines=None if help_lines is None else tuple(help_lines), order=order, opens_modal=opens_modal,
        )
        return handler

    return register


def find_subcommand(name: str) -> Subcommand | None:
    return _REGISTRY.get(name.lower())


def subcommands() -> list[Subcommand]:
    """Registered subcommands in help order."""
    return sorted(_REGISTRY.values(), key=lambda s: (s.order, s.name))


def help_text() -> str:
    return "\n".join(line for sub in subcommands() for line in sub.shown_in_help)


def usage_of(name: str) -> str:
    found = find_subcommand(name)
    return "\n".join(found.usage) if found else f"{COMMAND} help"
