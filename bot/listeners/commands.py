"""`/initiative <subcommand> …`: acknowledge at once, then find the subcommand in `SUBCOMMANDS` (the one list of
them, which also builds the help), run it, and answer privately through the command's response_url.

The acknowledgement goes before any work, so it never waits for the database or queues behind other requests'
work (under load, answering in the acknowledgement made every ack as slow as the slowest command; see
docs/benchmarks.md). The work then runs on the app's small `command_executor` (`work_later`), in arrival order,
once requests waiting for their own acks are through (`AcknowledgementsFirst` in bot/app.py); subcommands that may
open a modal (`opens_modal`) run at once instead, since their trigger_id expires 3 seconds after the command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.commands.grammar import check_length
from bot.commands.registry import COMMAND, Arguments, CommandContext, Reply, Subcommand, SubcommandTable
from bot.commands.text import tokenize
from bot.listeners import (
    conditions,
    digest,
    gates,
    home,
    initiative_commands,
    kpis,
    nudges,
    outcomes,
    portfolio_io,
    regulation,
    review_commands,
    webhooks,
)
from bot.listeners.middleware import RequestActor
from bot.runtime import Runtime
from bot.services.errors import DomainError, InvalidInput, NotFound
from bot.views import replies

log = logging.getLogger(__name__)


def help_reply() -> Reply:
    return replies.help_reply(SUBCOMMANDS.help_text())


HELP = Subcommand("help", lambda ctx, args: help_reply(), usage=("/initiative help",))

# Every `/initiative` subcommand, in help order. Add yours here.
SUBCOMMANDS = SubcommandTable((
    HELP,
    initiative_commands.NEW,
    initiative_commands.LIST,
    initiative_commands.FIND,
    home.TODO,
    initiative_commands.SHOW,
    initiative_commands.OWNERS,
    regulation.CLASSIFY,
    regulation.COMPLIANCE,
    review_commands.SUBMIT,
    review_commands.APPROVE,
    review_commands.REJECT,
    initiative_commands.PAUSE,
    initiative_commands.RESUME,
    outcomes.HOLD,
    outcomes.RECYCLE,
    outcomes.KILL,
    initiative_commands.RETIRE,
    initiative_commands.HISTORY,
    conditions.CONDITION,
    conditions.CONDITIONS,
    kpis.KPI,
    initiative_commands.CONFIDENTIAL,
    nudges.DELEGATE,
    digest.DIGEST,
    webhooks.WEBHOOKS,
    gates.GATES,
    gates.ADMINS,
    portfolio_io.IMPORT,
))


def register(app: App, runtime: Runtime, *, work_later: Callable[..., None]) -> None:
    """`work_later(work, *args)` runs a command's work after its ack, once waiting acks are through."""
    # Answers by response_url (valid for 30 minutes) run on no 3-second clock, so their lock waits are not cut short.
    unhurried = runtime.with_lock_wait(None)

    @app.command(COMMAND)
    def on_initiative(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond,
                      actor: RequestActor) -> None:
        ack()
        if _opens_modal(command):
            answer(runtime, command, client, respond, actor)  # now, on this listener thread: its trigger is ticking
        else:
            work_later(answer, unhurried, command, client, respond, actor)


def _opens_modal(command: dict[str, Any]) -> bool:
    tokens = tokenize(command.get("text") or "")
    found = SUBCOMMANDS.find(tokens[0].text) if tokens else None
    return found is not None and found.opens_modal


def answer(runtime: Runtime, command: dict[str, Any], client: WebClient, respond: Respond,
           actor: RequestActor) -> None:
    try:
        reply = run_command(runtime, command, client, actor)
        if reply is not None:
            respond(response_type="ephemeral", replace_original=False, text=reply.text, blocks=list(reply.blocks))
    except Exception:  # an executor would keep it to itself: say it in the log
        log.exception("answering /initiative failed (team %s, user %s)", command.get("team_id"), command.get("user_id"))


def run_command(runtime: Runtime, command: dict[str, Any], client: WebClient, actor: RequestActor) -> Reply | None:
    """Run one `/initiative` request; every outcome is a private reply (or a modal the handler opened)."""
    raw = command.get("text") or ""
    name = ""
    try:
        check_length(raw)
        tokens = tokenize(raw)
        if not tokens:
            return help_reply()
        name = tokens[0].text.lower()
        found = SUBCOMMANDS.find(name)
        if found is None:
            return replies.unknown_subcommand(tokens[0].text, known=SUBCOMMANDS.names)
        with runtime.read() as session:
            resolved = actor.in_session(session)
        context = CommandContext(
            runtime=runtime,
            actor=resolved,
            channel_id=command.get("channel_id", ""),
            trigger_id=command.get("trigger_id", ""),
            response_url=command.get("response_url", ""),
            client=client,
        )
        return found.handler(context, Arguments(tuple(tokens[1:])))
    except (InvalidInput, NotFound) as error:
        return replies.error_reply(str(error), usage=SUBCOMMANDS.usage_of(name) if name else None)
    except DomainError as error:
        return replies.error_reply(str(error))
    except Exception:
        log.exception("/initiative %s failed (team %s, user %s)", name, command.get("team_id"), command.get("user_id"))
        return replies.error_reply(replies.SOMETHING_WENT_WRONG)
