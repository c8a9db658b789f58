"""`/initiative <subcommand> …`: acknowledge at once, then find the subcommand in the registry, run it, and
answer privately through the command's response_url.

The acknowledgement goes before any work, so it never waits for the database or queues behind other requests'
work (under load, answering in the acknowledgement made every ack as slow as the slowest command; see
docs/benchmarks.md). The work then runs on the app's small `command_executor`, in arrival order, once requests
waiting for their own acks are through (`bot.app.AcknowledgementsFirst`); subcommands that may open a modal
(`opens_modal`) run at once instead, since their trigger_id expires 3 seconds after the command.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.app import InitiativeApp
from bot.commands.grammar import check_length
from bot.commands.registry import COMMAND, Arguments, CommandContext, Reply, find_subcommand, usage_of
from bot.commands.text import tokenize
from bot.listeners import digest, gates, initiative_commands, nudges, review_commands, webhooks
from bot.listeners.common import SOMETHING_WENT_WRONG, actor_for
from bot.runtime import Runtime
from bot.services.errors import DomainError, InvalidInput, NotFound
from bot.views import replies

# Each module registers its subcommands on import. Add yours with one import line above and one entry here.
SUBCOMMAND_MODULES = (initiative_commands, review_commands, nudges, digest, gates, webhooks)

log = logging.getLogger(__name__)


def register(app: InitiativeApp, runtime: Runtime) -> None:
    # Answers by response_url (valid for 30 minutes) run on no 3-second clock, so their lock waits are not cut short.
    unhurried = runtime.with_lock_wait(None)

    @app.command(COMMAND)
    def on_initiative(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        if _opens_modal(command):
            answer(runtime, command, client, respond)  # now, on this listener thread: its trigger is ticking
        else:
            app.work_on_command(answer, unhurried, command, client, respond)


def _opens_modal(command: dict[str, Any]) -> bool:
    tokens = tokenize(command.get("text") or "")
    found = find_subcommand(tokens[0].text) if tokens else None
    return found is not None and found.opens_modal


def answer(runtime: Runtime, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
    try:
        reply = run_command(runtime, command, client)
        if reply is not None:
            respond(response_type="ephemeral", replace_original=False, text=reply.text, blocks=list(reply.blocks))
    except Exception:  # an executor would keep it to itself: say it in the log
        log.exception("answering /initiative failed (team %s, user %s)", command.get("team_id"), command.get("user_id"))


def run_command(runtime: Runtime, command: dict[str, Any], client: WebClient) -> Reply | None:
    """Run one `/initiative` request; every outcome is a private reply (or a modal the handler opened)."""
    raw = command.get("text") or ""
    name = ""
    try:
        check_length(raw)
        tokens = tokenize(raw)
        if not tokens:
            return replies.help_reply()
        name = tokens[0].text.lower()
        found = find_subcommand(name)
        if found is None:
            return replies.unknown_subcommand(tokens[0].text)
        with runtime.read() as session:
            actor = actor_for(runtime, session, team_id=command["team_id"], user_id=command["user_id"], client=client)
        context = CommandContext(
            runtime=runtime,
            actor=actor,
            channel_id=command.get("channel_id", ""),
            trigger_id=command.get("trigger_id", ""),
            response_url=command.get("response_url", ""),
            client=client,
        )
        return found.handler(context, Arguments(tuple(tokens[1:])))
    except (InvalidInput, NotFound) as error:
        return replies.error_reply(str(error), usage=usage_of(name) if name else None)
    except DomainError as error:
        return replies.error_reply(str(error))
    except Exception:
        log.exception("/initiative %s failed (team %s, user %s)", name, command.get("team_id"), command.get("user_id"))
        return replies.error_reply(SOMETHING_WENT_WRONG)
