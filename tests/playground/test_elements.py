"""The page renders every Block Kit block and element that the bot's view builders emit: the builders are called
with realistic data, every `type` in their JSON is collected, and the page's renderer tables in app.js must hold
each one. A builder that starts emitting a type the page cannot draw fails here, with no browser."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, BlockElement, ButtonElement

import bot.views
from bot.listeners.commands import SUBCOMMANDS
from bot.services.regulation.questionnaire import Questionnaire, shipped_document
from bot.views import decision_record, desk, gates, ids, kpis, messages, modals, outcomes, people, regulation, replies
from storage.models import AuditEvent, Kpi
from tests.views.test_views import CATALOG, HOSTILE, NOW, card, full_home, initiative, review, sign_off, waits

# How the page draws what is not in its BLOCKS and ELEMENTS tables (app.js): text objects through textObject(),
# a context block's elements as images or text, and a rich_text block's sections and their text through richText().
TEXT_OBJECTS = {"plain_text", "mrkdwn"}
CONTEXT_ELEMENTS = {"image"} | TEXT_OBJECTS
RICH_TEXT_PARTS = {"rich_text_section", "rich_text_list", "rich_text_quote", "rich_text_preformatted", "text"}
TEXT_KEYS = ("text", "label", "hint", "title", "placeholder", "description", "confirm")


def built_views() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(what, blocks) for each view or message the bot builds, with realistic data and every optional part on."""
    full = card(items=12, links=3)
    for with_conditions in (False, True):
        yield "checklist modal", modals.checklist(full, comment="ok", with_conditions=with_conditions)["blocks"]
    yield "new initiative modal", modals.new_initiative(CATALOG, risk_tiers=("low", "medium", "high"),
                                                        channel_id="C1")["blocks"]
    yield "request changes modal", modals.request_changes(full)["blocks"]
    opener = ButtonElement(text="Open", action_id="x", value="1")
    yield "notice modal", modals.notice(HOSTILE, buttons=[opener])["blocks"]
    yield "initiative modal", modals.initiative_card(
        initiative(), owners={"business": "U0MARIA"}, catalog=CATALOG, review=review(), sign_offs=[sign_off()],
        deadlines={1: NOW + timedelta(days=7)}, reader_zone=ZoneInfo("Europe/Berlin"))["blocks"]
    yield "kill modal", outcomes.kill_modal(initiative(), rationale="no value")["blocks"]
    yield "extend hold modal", outcomes.extend_hold_modal(initiative(), revisit_on=NOW.date())["blocks"]
    questionnaire = Questionnaire.from_document(shipped_document(), version=1)
    yield "classify modal", regulation.classify_modal(initiative(), questionnaire)["blocks"]
    kpi = Kpi(id=1, team_id="T1", initiative_id=1, position=0, name="Churn", unit="%", baseline=4.2, target=3.0,
              target_date=NOW.date())
    yield "KPI modal", kpis.record_modal(initiative(), [kpi], today=NOW.date())["blocks"]
    yield "reassign modal", people.reassign_modal(initiative(), role="data", role_name="Data owner")["blocks"]
    yield "reassign needed", list(people.reassign_needed(initiative(), role="data", role_name="Data owner",
                                                         gate_name="Pilot", deactivated="U0DEV").blocks)
    yield "decision record building", decision_record.building("AI-1")["blocks"]
    stage = CATALOG.stages[0].id
    for name, view in (("gate stage", gates.stage_modal(CATALOG, stage)),
                       ("gate checklists", gates.checklists_modal(CATALOG, stage)),
                       ("add stage", gates.add_stage_modal(CATALOG)),
                       ("remove stage", gates.remove_stage_modal(CATALOG, stage)),
                       ("holidays", gates.holidays_modal(CATALOG))):
        yield f"{name} modal", view["blocks"]
    yield "gates overview", gates.overview(CATALOG, is_admin=True)
    yield "sign-off request", list(messages.sign_off_request(full).blocks)
    for state in ("approved", "changes_requested", "cancelled"):
        yield f"sign-off {state}", list(messages.sign_off_decided(card(state=state)).blocks)
    yield "decision news", list(messages.decision_news(
        initiative(), decider="U0DEV", role_name="Data", decision="approved", gate_name="Pilot", settled=1,
        required=3, comment="fine").blocks)
    yield "gate passed", list(messages.gate_passed(initiative(), gate_name="Pilot approval", to_stage_name="Pilot",
                                                   approvers=["U0A", "U0B"]).blocks)
    yield "app home", full_home()["blocks"]
    yield "todo", list(desk.todo_reply(waits(20), reader_zone=ZoneInfo("UTC")).blocks)
    yield "see all page", desk.waiting_page(waits(60), ids.DeskPage(ids.DESK_WAITING, 20),
                                            reader_zone=ZoneInfo("UTC"))["blocks"]
    yield "initiative list", list(replies.initiative_list([initiative(n) for n in range(3)], total=3,
                                                          scope_label="in progress", catalog=CATALOG).blocks)
    yield "initiative card", list(replies.initiative_card(
        initiative(), owners={"business": "U0MARIA"}, catalog=CATALOG, review=review(),
        sign_offs=[sign_off(), sign_off("approved", "business", 2)], deadlines={1: NOW + timedelta(days=7)},
        reader_zone=None).blocks)
    events = [AuditEvent(id=1, team_id="T1", at=NOW, actor="U0MARIA", action="initiative.edited",
                         subject_type="initiative", subject_key="AI-1", after={"reason": "x"})]
    yield "history", list(replies.history_reply(initiative(), events, CATALOG).blocks)
    yield "help", list(replies.help_reply(SUBCOMMANDS.help_text()).blocks)
    yield "error", list(replies.error_reply("Nope", usage="/initiative show <KEY>").blocks)


def emitted_types(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(kind, type) for every typed object in `blocks`, by how the page draws it: "block", "element", "text",
    "context" (a context block's elements) or "rich_text" (inside a rich_text block)."""
    for block in blocks:
        yield "block", block["type"]
        yield from _texts(block)
        for key in ("accessory", "element"):
            if key in block:
                yield from _element(block[key])
        for item in block.get("elements", ()):
            if block["type"] == "context":
                yield "context", item["type"]
            elif block["type"] == "rich_text":
                yield from _rich_text(item)
            else:
                yield from _element(item)


def _element(element: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    yield "element", element["type"]
    yield from _texts(element)
    for option in [*element.get("options", ()), *(o for g in element.get("option_groups", ()) for o in g["options"])]:
        yield from _texts(option)


def _texts(node: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for key in TEXT_KEYS:
        value = node.get(key)
        if isinstance(value, Mapping) and "type" in value:
            yield "text", value["type"]
        elif isinstance(value, Mapping):  # a confirm dialog: its own title, text and buttons
            yield from _texts(value)
    for field in node.get("fields", ()):
        yield "text", field["type"]


def _rich_text(node: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    yield "rich_text", node["type"]
    for child in node.get("elements", ()):
        yield from _rich_text(child)


def rendered_by_page(table: str) -> set[str]:
    """The keys of the page's `const <table> = {…};` renderer table in app.js."""
    script = (files("bot.playground") / "static" / "app.js").read_text()
    body = re.search(rf"^const {table} = \{{\n(.*?)^\}};", script, re.MULTILINE | re.DOTALL)
    assert body, f"app.js has no {table} table"
    return set(re.findall(r"^  (\w+):", body.group(1), re.MULTILINE))


def test_the_page_draws_every_type_the_builders_emit():
    supported = {"block": rendered_by_page("BLOCKS"), "element": rendered_by_page("ELEMENTS"),
                 "text": TEXT_OBJECTS, "context": CONTEXT_ELEMENTS, "rich_text": RICH_TEXT_PARTS}
    emitted: dict[tuple[str, str], str] = {}
    for what, blocks in built_views():
        for found in emitted_types(blocks):
            emitted.setdefault(found, what)
    # The walk sees what the checklist, the new-initiative modal and the gate editor are made of.
    assert {("element", t) for t in ("button", "checkboxes", "static_select", "users_select", "datepicker",
                                     "rich_text_input", "plain_text_input", "radio_buttons")} <= emitted.keys()
    unsupported = {f"{kind} {kind_type} (in the {what})" for (kind, kind_type), what in emitted.items()
                   if kind_type not in supported[kind]}
    assert unsupported == set()


MODULES = ["bot.presenters", "bot.notifications",
           *(f"bot.views.{m.name}" for m in pkgutil.iter_modules(bot.views.__path__))]


def used_types(kind: type) -> set[str]:
    """The `type` of each Block Kit class of `kind` that a view module imports or defines: a net for builders the
    walk above does not call."""
    found = set()
    for name in MODULES:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, type) and issubclass(value, kind) and isinstance(getattr(value, "type", None), str):
                found.add(value.type)
    return found


def test_the_page_renders_every_block_and_element_class_the_view_modules_use():
    assert used_types(BlockElement) - rendered_by_page("ELEMENTS") == set()
    assert used_types(Block) - rendered_by_page("BLOCKS") == set()
