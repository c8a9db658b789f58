"""The answer to `/initiative import`: how an admin imports the portfolio, and the columns a file may have."""

from __future__ import annotations

from bot.commands.registry import Reply
from bot.services.portfolio_io.service import COLUMNS
from bot.views.blocks import context, finish, section
from bot.views.text import escape

_HOW = ("*Import the portfolio from a spreadsheet* (.csv or .xlsx). Run this where the bot runs, with its settings:\n"
        "```initiative-bot import portfolio.xlsx --dry-run   # check the file, see what would change\n"
        "initiative-bot import portfolio.xlsx             # write it, all or nothing```\n"
        "One row per initiative; the first row names the columns, in any order. Only `title` is required. A row "
        "with a key, or with a title already here, updates that initiative; importing a file twice changes "
        "nothing. `initiative-bot export portfolio.xlsx` writes the portfolio in these columns.")


def import_help() -> Reply:
    columns = "\n".join(f"• `{column.name}`: {escape(column.meaning)}" for column in COLUMNS)
    text = f"{_HOW}\n\n*Columns*\n{columns}"
    return Reply(text=text, blocks=finish([section(_HOW), section(f"*Columns*\n{columns}"),
                                           context("Details: docs/import-export.md in the bot's repository.")],
                                          "message"))
