"""`/initiative webhooks add <URL> [events…] | list | remove <number|URL>`: admins only."""

from __future__ import annotations

from bot.commands.registry import Arguments, CommandContext, Reply, Subcommand, UsageError
from bot.services.webhooks.service import add_endpoint, list_endpoints, remove_endpoint
from bot.views.text import escape
from bot.views.webhooks import EVENTS_HELP, endpoint_lines, registered_text, removed_text

USAGE = (
    "/initiative webhooks add <https URL> [events…]   -> send events to a receiver (admins)",
    "/initiative webhooks list | remove <number|URL>  -> see or remove receivers (admins)",
)


def webhooks(ctx: CommandContext, args: Arguments) -> Reply:
    # The texts are shared with the CLI; in Slack they are mrkdwn, so a URL's `&`, `<` and `>` are escaped.
    words = [token.text for token in args.tokens]
    action = words[0].lower() if words else "list"
    with ctx.runtime.transaction() as session:
        if action == "list" and len(words) <= 1:
            return Reply(text=escape(endpoint_lines(list_endpoints(session, actor=ctx.actor))))
        if action == "add" and len(words) >= 2:
            registered = add_endpoint(session, actor=ctx.actor, settings=ctx.runtime.settings, url=words[1],
                                      events=words[2:])
            return Reply(text=escape(registered_text(registered.endpoint, registered.secret)))
        if action == "remove" and len(words) == 2:
            return Reply(text=escape(removed_text(remove_endpoint(session, actor=ctx.actor, ref=words[1]))))
    raise UsageError(f"Say `webhooks add <https URL> [events…]`, `webhooks list` or `webhooks remove <number>`. "
                     f"{EVENTS_HELP}")


WEBHOOKS = Subcommand("webhooks", webhooks, usage=USAGE)
