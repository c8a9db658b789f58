"""`/initiative import`: an import runs on the command line (a file, an all-or-nothing transaction); in Slack an
admin learns how, and the columns."""

from __future__ import annotations

from bot.commands.registry import Arguments, CommandContext, Reply, Subcommand
from bot.services.access.service import require_admin
from bot.views.portfolio_io import import_help


def import_command(ctx: CommandContext, args: Arguments) -> Reply:
    require_admin(ctx.actor, doing="import initiatives")
    return import_help()


IMPORT = Subcommand("import", import_command, usage=(
    "/initiative import                   -> admins: how to import the portfolio from a spreadsheet, and its columns",))
