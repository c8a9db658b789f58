"""The page renders every Block Kit block and element that the bot's view builders use."""

from __future__ import annotations

import importlib
import pkgutil
import re
from importlib.resources import files

from slack_sdk.models.blocks import Block, BlockElement

import bot.views

MODULES = ["bot.presenters", "bot.notifications",
           *(f"bot.views.{m.name}" for m in pkgutil.iter_modules(bot.views.__path__))]


def used_types(kind: type) -> set[str]:
    """The `type` of each Block Kit class of `kind` that a view module imports or defines."""
    found = set()
    for name in MODULES:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, type) and issubclass(value, kind) and isinstance(getattr(value, "type", None), str):
                found.add(value.type)
    return found


def rendered_by_page(table: str) -> set[str]:
    """The keys of the page's `const <table> = {…};` renderer table in app.js."""
    script = (files("bot.playground") / "static" / "app.js").read_text()
    body = re.search(rf"^const {table} = \{{\n(.*?)^\}};", script, re.MULTILINE | re.DOTALL)
    assert body, f"app.js has no {table} table"
    return set(re.findall(r"^  (\w+):", body.group(1), re.MULTILINE))


def test_the_page_renders_every_element_the_bot_uses():
    used = used_types(BlockElement)
    assert {"button", "checkboxes", "static_select", "users_select", "datepicker"} <= used  # the walk finds them
    assert used - rendered_by_page("ELEMENTS") == set()


def test_the_page_renders_every_block_the_bot_uses():
    used = used_types(Block)
    assert {"section", "actions", "input", "header"} <= used
    assert used - rendered_by_page("BLOCKS") == set()
