"""`/initiative import` over signed HTTP against the Slack emulator: an admin is told how to import and gets the
column list; anyone else gets the usual refusal."""

from __future__ import annotations

from bot.services.portfolio_io.columns import COLUMN_NAMES
from slack_emulator import validate_blocks
from tests.listeners.conftest import Slack


def test_an_admin_is_told_how_to_import_with_every_column(slack: Slack) -> None:
    answer = slack.command("import", user="UADMIN")
    assert answer["response_type"] == "ephemeral"
    assert "initiative-bot import portfolio.xlsx --dry-run" in answer["text"]
    for name in COLUMN_NAMES:
        assert f"`{name}`" in answer["text"]
    assert validate_blocks(answer["blocks"], "message") == []
    assert "Only `title` is required." in str(answer["blocks"])


def test_anyone_else_is_refused(slack: Slack) -> None:
    answer = slack.command("import", user="UMARIA")
    assert answer["text"] == "Only an admin can import initiatives."


def test_help_lists_it(slack: Slack) -> None:
    help_blocks = slack.command("help")["blocks"]  # the whole grammar spans several sections
    assert any("/initiative import" in block["text"]["text"] for block in help_blocks)
