"""Block Kit for `/initiative gates` and the admins' gate editor modals (pure: catalog in, blocks out), and the
readers of what those modals submit.

Every screen stays far inside Slack's limits by construction: the schema allows at most 20 stages and 20 roles,
the overview shows one section per stage (a message holds 50 blocks), a stage's editor about 15 blocks, and the
checklists of one gate open in a pushed view with one input per role.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.services.errors import InvalidInput
from bot.services.gate_editing.service import GateSettings, InvalidDefinition
from bot.services.gates.service import LABEL_MAX, MAX_CHECKLIST_ITEMS_PER_ROLE, GateCatalog, Problem, Stage
from bot.services.validation import RISK_TIERS
from bot.views.blocks import context, divider, finish, header, section
from bot.views.ids import StaleForm
from bot.views.text import clip, mrkdwn

# Buttons: value = encoded GateFormContext.
EDIT_STAGE = "gates.edit_stage"
ADD_STAGE = "gates.add_stage"
EDIT_HOLIDAYS = "gates.edit_holidays"
EDIT_CHECKLISTS = "gates.edit_checklists"
MOVE_EARLIER = "gates.move_earlier"
MOVE_LATER = "gates.move_later"
REMOVE_STAGE = "gates.remove_stage"
# Modal callback ids: private_metadata = encoded GateFormContext.
STAGE_MODAL = "gates.stage"
CHECKLISTS_MODAL = "gates.checklists"
ADD_STAGE_MODAL = "gates.add_stage"
REMOVE_STAGE_MODAL = "gates.remove_stage"
HOLIDAYS_MODAL = "gates.holidays"
# Input blocks (action id is always VALUE).
VALUE = "value"
NAME, STALL, GATE_NAME = "name", "stall", "gate_name"
SLA, NUDGE_FIRST, NUDGE_EVERY = "sla", "nudge_first", "nudge_every"
ROLES_PREFIX = "roles."  # + risk tier
CHECKLIST_PREFIX = "checklist."  # + role id
AFTER, MOVE_TO, HOLIDAYS = "after", "move_to", "holidays"
FIRST = "-first-"
LINES_MAX = 3000  # the checklist and holiday inputs, one entry a line: their max_length, checked on submission too

StateValues = Mapping[str, Mapping[str, Mapping[str, Any]]]


@dataclass(frozen=True)
class GateFormContext:
    """What a gate editor button or modal carries: the version it shows, and the stage (and gate) it is about."""

    version: int
    stage_id: str = ""
    gate_id: str = ""


def encode(context_: GateFormContext) -> str:
    return json.dumps(asdict(context_), separators=(",", ":"))


def decode(text: str | None) -> GateFormContext:
    try:
        data = json.loads(text or "")
        found = GateFormContext(version=int(data["version"]), stage_id=str(data.get("stage_id", "")),
                                gate_id=str(data.get("gate_id", "")))
    except (ValueError, TypeError, KeyError, AttributeError):
        raise StaleForm("This gate editor is out of date; run `/initiative gates` again.") from None
    return found


# --- overview -----------------------------------------------------------------------------------------------

def overview(catalog: GateCatalog, *, is_admin: bool) -> list[dict[str, Any]]:
    """The stages in order, each with the gate leaving it; Edit buttons for admins."""
    blocks: list[Block] = [header(f"Stages and gates (version {catalog.version})")]
    for number, stage in enumerate(catalog.stages, start=1):
        edit = ButtonElement(text="Edit", action_id=EDIT_STAGE,
                             value=encode(GateFormContext(catalog.version, stage.id))) if is_admin else None
        blocks.append(section(_stage_text(catalog, number, stage), accessory=edit))
    holidays = ", ".join(d.isoformat() for d in catalog.holidays[:10]) or "none"
    more = f" and {len(catalog.holidays) - 10} more" if len(catalog.holidays) > 10 else ""
    blocks.append(context(f"Holidays (not business days): {holidays}{more}"))
    if is_admin:
        version = encode(GateFormContext(catalog.version))
        blocks.append(ActionsBlock(elements=[
            ButtonElement(text="Add stage", action_id=ADD_STAGE, value=version),
            ButtonElement(text="Holidays", action_id=EDIT_HOLIDAYS, value=version),
        ]))
        blocks.append(context("Gates as code: `initiative-bot gates export` / `gates import FILE`."))
    return finish(blocks, "message")


def overview_text(catalog: GateCatalog) -> str:
    return "Stages: " + " → ".join(stage.name for stage in catalog.stages)


def _stage_text(catalog: GateCatalog, number: int, stage: Stage) -> str:
    stall = f" · stalled after {stage.stall_after_days} days" if stage.stall_after_days else ""
    lines = [f"*{number}. {mrkdwn(stage.name, 75)}* (`{stage.id}`){stall}"]
    if (reattestation := stage.reattestation()) is not None:
        roles = ", ".join(catalog.role_name(r) for r in reattestation.roles_for("low"))
        model = f" · models older than {stage.max_model_age_days} days are stale" if stage.max_model_age_days else ""
        lines.append(f"↻ Re-attested every {stage.reattest_every_days} days by {roles}{model} (gates as code)")
    gate = catalog.next_gate(stage.id)
    if gate is not None:
        roles = " · ".join(f"{tier}: {', '.join(catalog.role_name(r) for r in gate.roles_for(tier))}"
                           for tier in RISK_TIERS)
        items = sum(len(v) for v in gate.checklist.values())
        lines += [f"→ *{mrkdwn(gate.name, 75)}* to {mrkdwn(catalog.stage(gate.to_stage).name, 75)}: {roles}",
                  f"SLA {gate.sla_business_days} business days · nudge after {gate.nudge_first_after}, then every "
                  f"{gate.nudge_every} · {items} checklist items"]
    return "\n".join(lines)


# --- modals -------------------------------------------------------------------------------------------------

def stage_modal(catalog: GateCatalog, stage_id: str) -> dict[str, Any]:
    """One stage, its stall threshold, and the gate leaving it (name, timing, required roles per tier)."""
    stage = catalog.stage(stage_id)
    here = GateFormContext(catalog.version, stage.id)
    blocks: list[Block] = [
        _text_input(NAME, "Stage name", stage.name, max_length=LABEL_MAX),
        _number_input(STALL, "Stalled after (days in this stage)", stage.stall_after_days, 1, 3650, optional=True),
    ]
    gate = catalog.next_gate(stage.id)
    if gate is not None:
        role_options = [Option(value=r.id, text=clip(r.name, 75)) for r in catalog.roles.values() if r.signs_off]
        blocks += [
            divider(),
            section(f"*Gate to {mrkdwn(catalog.stage(gate.to_stage).name, 75)}*"),
            _text_input(GATE_NAME, "Gate name", gate.name, max_length=LABEL_MAX),
            _number_input(SLA, "Sign-off SLA (business days)", gate.sla_business_days, 1, 60),
            _number_input(NUDGE_FIRST, "First nudge after (business days)", gate.nudge_first_after, 1, 60),
            _number_input(NUDGE_EVERY, "Then nudge every (business days)", gate.nudge_every, 1, 60),
        ]
        for tier in RISK_TIERS:
            chosen = [o for o in role_options if o.value in gate.roles_for(tier)]
            blocks.append(InputBlock(block_id=ROLES_PREFIX + tier, label=f"Sign-offs needed at {tier} risk",
                                     element=StaticMultiSelectElement(action_id=VALUE, options=role_options,
                                                                      initial_options=chosen or None)))
    buttons = [ButtonElement(text="Edit checklists", action_id=EDIT_CHECKLISTS, value=encode(here))] if gate else []
    position = catalog.stage_index(stage.id)
    if position > 0:
        buttons.append(ButtonElement(text="Move earlier", action_id=MOVE_EARLIER, value=encode(here)))
    if position < len(catalog.stages) - 1:
        buttons.append(ButtonElement(text="Move later", action_id=MOVE_LATER, value=encode(here)))
    buttons.append(ButtonElement(text="Remove stage…", action_id=REMOVE_STAGE, value=encode(here), style="danger"))
    blocks.append(ActionsBlock(block_id="stage_actions", elements=buttons))
    return _modal(STAGE_MODAL, "Edit stage", blocks, here, submit="Save")


def checklists_modal(catalog: GateCatalog, stage_id: str) -> dict[str, Any]:
    """Per role, the items its owner confirms at the gate leaving `stage_id`: one label per line."""
    gate = catalog.next_gate(stage_id)
    if gate is None:
        raise InvalidInput(f"Stage '{stage_id}' is the last stage; no gate leaves it.")
    blocks: list[Block] = [context(f"*{mrkdwn(gate.name, 75)}*: one item per line, at most {LABEL_MAX} characters "
                                   f"and {MAX_CHECKLIST_ITEMS_PER_ROLE} items per role.")]
    for role in catalog.roles.values():
        if role.signs_off:
            labels = "\n".join(item.label for item in gate.checklist_for(role.id))
            blocks.append(InputBlock(block_id=CHECKLIST_PREFIX + role.id, label=clip(role.name, 75), optional=True,
                                     element=PlainTextInputElement(action_id=VALUE, multiline=True,
                                                                   max_length=LINES_MAX, initial_value=labels or None)))
    return _modal(CHECKLISTS_MODAL, "Checklists", blocks, GateFormContext(catalog.version, stage_id, gate.id),
                  submit="Save")


def add_stage_modal(catalog: GateCatalog) -> dict[str, Any]:
    places = [Option(value=FIRST, text="At the start")] + [
        Option(value=s.id, text=clip(f"After {s.name}", 75)) for s in catalog.stages]
    blocks: list[Block] = [
        _text_input(NAME, "Stage name", None, max_length=LABEL_MAX),
        InputBlock(block_id=AFTER, label="Where", element=StaticSelectElement(
            action_id=VALUE, options=places, initial_option=places[-1])),
        _number_input(STALL, "Stalled after (days in this stage)", None, 1, 3650, optional=True),
        context("A gate into the next stage is added with the required roles of the gate before it; edit its "
                "checklists afterwards."),
    ]
    return _modal(ADD_STAGE_MODAL, "Add stage", blocks, GateFormContext(catalog.version), submit="Add")


def remove_stage_modal(catalog: GateCatalog, stage_id: str) -> dict[str, Any]:
    stage = catalog.stage(stage_id)
    others = [Option(value=s.id, text=clip(s.name, 75)) for s in catalog.stages if s.id != stage_id]
    blocks: list[Block] = [
        section(f"Remove *{mrkdwn(stage.name, 75)}*? Its gate goes too; reviews into it are cancelled."),
        InputBlock(block_id=MOVE_TO, label="Move its initiatives to", optional=True,
                   hint="Needed when initiatives are in this stage; each move is recorded in their history.",
                   element=StaticSelectElement(action_id=VALUE, options=others)),
    ]
    return _modal(REMOVE_STAGE_MODAL, "Remove stage", blocks, GateFormContext(catalog.version, stage_id),
                  submit="Remove")


def holidays_modal(catalog: GateCatalog) -> dict[str, Any]:
    current = "\n".join(d.isoformat() for d in catalog.holidays)
    blocks: list[Block] = [InputBlock(
        block_id=HOLIDAYS, label="Holidays", optional=True, hint="One date per line, as YYYY-MM-DD.",
        element=PlainTextInputElement(action_id=VALUE, multiline=True, max_length=LINES_MAX,
                                      initial_value=current or None),
    )]
    return _modal(HOLIDAYS_MODAL, "Holidays", blocks, GateFormContext(catalog.version), submit="Save")


def _modal(callback_id: str, title: str, blocks: Sequence[Block], where: GateFormContext, *,
           submit: str) -> dict[str, Any]:
    return View(type="modal", callback_id=callback_id, title=title, submit=submit, close="Cancel",
                blocks=finish(blocks, "modal"), private_metadata=encode(where)).to_dict()


def _text_input(block_id: str, label: str, value: str | None, *, max_length: int) -> InputBlock:
    return InputBlock(block_id=block_id, label=label, element=PlainTextInputElement(
        action_id=VALUE, max_length=max_length, initial_value=value or None))


def _number_input(block_id: str, label: str, value: int | None, low: int, high: int, *,
                  optional: bool = False) -> InputBlock:
    return InputBlock(block_id=block_id, label=label, optional=optional, element=NumberInputElement(
        action_id=VALUE, is_decimal_allowed=False, min_value=str(low), max_value=str(high),
        initial_value=str(value) if value is not None else None))


# --- reading submissions ------------------------------------------------------------------------------------

def read_stage(values: StateValues) -> tuple[str, int | None, GateSettings | None]:
    name, stall = _text(values, NAME), _number(values, STALL)
    if GATE_NAME not in values:
        return name, stall, None
    settings = GateSettings(
        name=_text(values, GATE_NAME), sla_business_days=_number(values, SLA) or 0,
        nudge_first_after=_number(values, NUDGE_FIRST) or 0, nudge_every=_number(values, NUDGE_EVERY) or 0,
        required_roles={tier: [o["value"] for o in _action(values, ROLES_PREFIX + tier).get("selected_options") or []]
                        for tier in RISK_TIERS})
    return name, stall, settings


def read_checklists(values: StateValues) -> dict[str, list[str]]:
    return {block_id.removeprefix(CHECKLIST_PREFIX): _lines(values, block_id)
            for block_id in values if block_id.startswith(CHECKLIST_PREFIX)}


def read_new_stage(values: StateValues) -> tuple[str, str | None, int | None]:
    after = (_action(values, AFTER).get("selected_option") or {}).get("value")
    return _text(values, NAME), None if after in (None, FIRST) else after, _number(values, STALL)


def read_move_to(values: StateValues) -> str | None:
    return (_action(values, MOVE_TO).get("selected_option") or {}).get("value")


def read_holidays(values: StateValues) -> list[date]:
    dates = []
    for line in _lines(values, HOLIDAYS):
        if line.strip():
            try:
                dates.append(date.fromisoformat(line.strip()))
            except ValueError:
                raise InvalidInput(f"'{clip(line.strip(), 30)}' is not a date; write one date per line as "
                                   f"YYYY-MM-DD.", field=HOLIDAYS) from None
    return dates


def input_errors(error: InvalidInput, values: StateValues) -> dict[str, str]:
    """Where a modal shows refused input: every broken rule under its field, or the error under the input its
    `field` names (the readers and listeners name the block id); {} when no input of this modal holds it."""
    if isinstance(error, InvalidDefinition):
        return errors_for(error.problems, values)
    block = error.field or ""
    return {block: str(error)} if block in values else {}


def errors_for(problems: Sequence[Problem], values: StateValues) -> dict[str, str]:
    """Each rule a modal's change broke, under the field that holds it (the first field when none does)."""
    errors: dict[str, str] = {}
    for problem in problems:
        block_id = _block_for(problem.path, values) or next(iter(values), "")
        errors.setdefault(block_id, problem.message)
    return errors


def _block_for(path: tuple[str | int, ...], values: StateValues) -> str | None:
    text = [str(part) for part in path]
    candidates = []
    if "checklist" in text:
        candidates.append(CHECKLIST_PREFIX + text[text.index("checklist") + 1])
    if "required_roles" in text:
        candidates.append(ROLES_PREFIX + text[text.index("required_roles") + 1])
    if text[:1] == ["stages"] and text[-1:] == ["stall_after_days"]:
        candidates.append(STALL)
    field_blocks = {"sla_business_days": SLA, "first_after_business_days": NUDGE_FIRST,
                    "repeat_every_business_days": NUDGE_EVERY, "holidays": HOLIDAYS}
    candidates += [field_blocks[p] for p in text if p in field_blocks]
    candidates += [GATE_NAME if text[:1] == ["gates"] else NAME] if text[-1:] in (["name"], ["id"]) else []
    return next((c for c in candidates if c in values), None)


def _action(values: StateValues, block_id: str) -> Mapping[str, Any]:
    return values.get(block_id, {}).get(VALUE, {})


def _text(values: StateValues, block_id: str) -> str:
    return (_action(values, block_id).get("value") or "").strip()


def _lines(values: StateValues, block_id: str) -> list[str]:
    text = _text(values, block_id)
    if len(text) > LINES_MAX:
        raise InvalidInput(f"This is {len(text)} characters long; keep it within {LINES_MAX}.", field=block_id)
    return text.splitlines()


def _number(values: StateValues, block_id: str) -> int | None:
    raw = _text(values, block_id)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput("Enter a whole number.", field=block_id) from None
