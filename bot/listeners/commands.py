"""`/initiative <subcommand> …`: find the subcommand in the registry, run it, and answer privately in the
acknowledgement, or through the response_url when the work outlasts ACK_DEADLINE_SECONDS."""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

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
ACK_DEADLINE_SECONDS = 2.0  # Slack gives up on an acknowledgement after 3 seconds


def register(app: App, runtime: Runtime) -> None:
    @app.command(COMMAND)
    def on_initiative(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        answer = AnswerOnce(ack)
        # A quick answer goes in the acknowledgement; if the work is slow, an empty acknowledgement goes first
        # (Slack allows 3 seconds) and the answer follows through the response_url.
        deadline = threading.Timer(ACK_DEADLINE_SECONDS, answer.acknowledge)
        deadline.start()
        try:
            reply = run_command(runtime, command, client)
        finally:
            deadline.cancel()
        if answer.acknowledge(reply) or reply is None:
            return
        respond(response_type="ephemeral", replace_original=False, text=reply.text, blocks=list(reply.blocks))


class AnswerOnce:
    """Acknowledges a request exactly once, from whichever thread comes first."""

    def __init__(self, ack: Ack) -> None:
        self._ack = ack
        self._lock = threading.Lock()
        self._done = False

    def acknowledge(self, reply: Reply | None = None) -> bool:
        """Acknowledge (with `reply` as the answer); False if it had already been acknowledged."""
        with self._lock:
            if self._done:
                return False
            self._done = True
        if reply is None:
            self._ack()
        else:
            self._ack(response_type="ephemeral", text=reply.text, blocks=list(reply.blocks))
        return True


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
        with runtime.transaction() as session:
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
