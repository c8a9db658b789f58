"""What people typed into our modals (`view.state.values`) -> typed answers, and service errors -> the
`response_action: errors` map that shows each message under the input it is about: the input whose block holds
the argument the error names (`InvalidInput.field`), never a guess from the message's words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.services.errors import InvalidInput
from bot.services.regulation.service import UnansweredQuestions
from bot.services.reviews.service import TARGET_ON, WAIVERS_EXPIRE_ON, ChecklistIncomplete
from bot.services.tracked_items.service import FIELD as CONDITIONS_FIELD
from bot.services.validation import COMMENT, EVIDENCE_LINKS, clean_characters
from bot.views import ids
from bot.views.text import clip

StateValues = Mapping[str, Mapping[str, Mapping[str, Any]]]


@dataclass(frozen=True)
class ChecklistAnswers:
    ticked: frozenset[str]
    waivers: dict[str, str]  # item id -> the reason given for waiving it ("" when none was given)
    comment: str = ""
    evidence_links: tuple[str, ...] = ()
    unused_reason: bool = False  # a reason for waiving, with no item chosen to waive
    waivers_expire_on: date | None = None
    target_on: date | None = None
    condition_lines: tuple[str, ...] = ()  # the Conditions input's lines, each mention as <@U…>


@dataclass(frozen=True)
class NewInitiativeAnswers:
    fields: dict[str, str]  # title, description, problem, kpi_*, risk_tier, business_unit, mlflow_model
    owners: dict[str, str] = field(default_factory=dict)
    channel_id: str | None = None
    tags: tuple[str, ...] = ()


def read_checklist(values: StateValues) -> ChecklistAnswers:
    ticked: set[str] = set()
    for block_id, actions in values.items():
        if block_id.startswith(ids.CHECKLIST_BLOCK_PREFIX):
            selected = (actions.get(ids.TICKED) or {}).get("selected_options") or []
            ticked |= {str(option.get("value")) for option in selected}
    waived = _chosen(values, ids.WAIVE_BLOCK)
    reason = _text(values, ids.WAIVE_REASON_BLOCK)
    links = tuple(line.strip() for line in _text(values, ids.EVIDENCE_BLOCK).splitlines() if line.strip())
    return ChecklistAnswers(ticked=frozenset(ticked), waivers=dict.fromkeys(waived, reason),
                            comment=_text(values, ids.COMMENT_BLOCK), evidence_links=links,
                            unused_reason=bool(reason) and not waived,
                            waivers_expire_on=_date(values, ids.WAIVERS_EXPIRE_BLOCK),
                            target_on=_date(values, ids.TARGET_BLOCK),
                            condition_lines=rich_text_lines(
                                _action(values, ids.CONDITIONS_BLOCK).get("rich_text_value")))


def rich_text_lines(value: Any) -> tuple[str, ...]:
    """A rich_text_input's value as lines of text: a paragraph's line breaks and a list's items end lines, and a
    mention of a person reads `<@U…>`, as in message text, so that the service can tell a real mention from a typed
    "@name"."""
    lines: list[str] = [""]

    def walk(node: Any) -> None:
        if not isinstance(node, Mapping):
            return
        kind = node.get("type")
        if kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
            for element in node.get("elements") or ():
                walk(element)
            lines.append("")
        elif kind == "rich_text_list":
            for item in node.get("elements") or ():
                walk(item)
        elif kind == "rich_text":
            for block in node.get("elements") or ():
                walk(block)
        elif kind == "text":
            parts = str(node.get("text") or "").split("\n")
            lines[-1] += parts[0]
            lines.extend(parts[1:])
        elif kind == "user":
            lines[-1] += f" <@{node.get('user_id', '')}> "
        elif kind == "link":
            lines[-1] += str(node.get("text") or node.get("url") or "")
        elif kind == "emoji":
            lines[-1] += f":{node.get('name', '')}:"
        elif kind == "channel":
            lines[-1] += f"#{node.get('channel_id', '')}"
        elif kind == "usergroup":
            lines[-1] += f"@{node.get('usergroup_id', '')}"  # not a person: the service refuses it

    walk(value)
    return tuple(line for line in (clean_characters(line).strip() for line in lines) if line)


UNUSED_REASON = "Choose the items this reason waives above, or leave it empty."


def checklist_errors(error: InvalidInput, view: Mapping[str, Any]) -> dict[str, str]:
    """Where to show a refused approval: a missing or too long reason under the reason; the items neither ticked
    nor waived, named, under "Waive items"; a bad link or comment under its input; anything else under the
    comment."""
    values: StateValues = view["state"]["values"]
    if isinstance(error, ChecklistIncomplete):
        waived = set(_chosen(values, ids.WAIVE_BLOCK))
        about_reason = [message for item_id, message in error.problems.items() if item_id in waived]
        errors = {ids.WAIVE_REASON_BLOCK: about_reason[0]} if about_reason else {}
        labels = _waivable_labels(view)
        open_items = [labels.get(item_id, item_id) for item_id in error.problems if item_id not in waived]
        if open_items:
            named = ", ".join(f"“{label}”" for label in open_items)
            errors[ids.WAIVE_BLOCK] = clip(f"Tick {named} above, or choose {'it' if len(open_items) == 1 else 'them'} "
                                           "here with a reason below.", _ERROR_MAX)
        return errors
    block = _CHECKLIST_BLOCKS.get(error.field or "", ids.COMMENT_BLOCK)
    shown = {b.get("block_id") for b in view.get("blocks", ())}
    return {block if block in shown else ids.COMMENT_BLOCK: str(error)}


def _waivable_labels(view: Mapping[str, Any]) -> dict[str, str]:
    """Item id -> label, as the modal's "Waive items" lists them."""
    block = next((b for b in view.get("blocks", ()) if b.get("block_id") == ids.WAIVE_BLOCK), None)
    options = (block or {}).get("element", {}).get("options", ())
    return {str(option["value"]): str(option["text"]["text"]) for option in options}


_ERROR_MAX = 300
_CHECKLIST_BLOCKS = {COMMENT.name: ids.COMMENT_BLOCK, EVIDENCE_LINKS.name: ids.EVIDENCE_BLOCK,
                     "ticked": ids.WAIVE_BLOCK, WAIVERS_EXPIRE_ON: ids.WAIVERS_EXPIRE_BLOCK,
                     TARGET_ON: ids.TARGET_BLOCK, CONDITIONS_FIELD: ids.CONDITIONS_BLOCK}


def read_new_initiative(values: StateValues) -> NewInitiativeAnswers:
    texts = {name: _text(values, name) for name in ("title", "description", "problem", "kpi_name", "kpi_baseline",
                                                    "kpi_target", "business_unit", "mlflow_model")}
    texts["risk_tier"] = str(((_action(values, "risk_tier").get("selected_option")) or {}).get("value") or "medium")
    owners = {
        block_id.removeprefix(ids.OWNER_BLOCK_PREFIX): str(_action(values, block_id)["selected_user"])
        for block_id in values
        if block_id.startswith(ids.OWNER_BLOCK_PREFIX) and _action(values, block_id).get("selected_user")
    }
    channel = _action(values, "channel_id").get("selected_conversation") or None
    tags = tuple(tag.strip() for tag in _text(values, "tags").split(",") if tag.strip())
    return NewInitiativeAnswers(fields=texts, owners=owners, channel_id=channel, tags=tags)


def new_initiative_errors(error: InvalidInput, values: StateValues) -> dict[str, str]:
    """Under the input named after the refused argument (`create_initiative`'s keywords are the block ids); an
    owner under that role's picker, or the first one; anything else under the title."""
    field = error.field or ""
    if field in ids.NEW_FIELDS:
        block = field
    elif field == "owners" or field.startswith("owners."):
        block = ids.owner_block_id(field.removeprefix("owners."))
        if block not in values:
            block = next((b for b in values if b.startswith(ids.OWNER_BLOCK_PREFIX)), "title")
    else:
        block = "title"
    return {block if block in values else "title": str(error)}


def read_reason(values: StateValues) -> str:
    return _text(values, ids.REASON_BLOCK)


@dataclass(frozen=True)
class KillAnswers:
    rationale: str
    lessons: str


def read_kill(values: StateValues) -> KillAnswers:
    return KillAnswers(rationale=_text(values, ids.RATIONALE_BLOCK), lessons=_text(values, ids.LESSONS_BLOCK))


def read_revisit_date(values: StateValues) -> str:
    """The date picked in the Extend hold modal, as YYYY-MM-DD ("" if none)."""
    return str(_action(values, ids.REVISIT_BLOCK).get("selected_date") or "")


def outcome_errors(error: InvalidInput, values: StateValues) -> dict[str, str]:
    """Under the input named after the refused argument (the Kill and Extend hold modals' block ids are the
    outcome services' argument names), else under the first input."""
    block = error.field if error.field in values else next(iter(values), ids.REASON_BLOCK)
    return {block: str(error)}


def read_classification(values: StateValues) -> dict[str, str]:
    """Question id -> the answer chosen (radio buttons); questions left unanswered are absent."""
    answers = {}
    for block_id in values:
        if block_id.startswith(ids.QUESTION_BLOCK_PREFIX):
            chosen = _action(values, block_id).get("selected_option") or {}
            if chosen.get("value"):
                answers[block_id.removeprefix(ids.QUESTION_BLOCK_PREFIX)] = str(chosen["value"])
    return answers


def classification_errors(error: UnansweredQuestions, values: StateValues) -> dict[str, str]:
    """Each problem under its question's input (a question the modal does not show: under the first)."""
    errors: dict[str, str] = {}
    for question, message in error.problems.items():
        block = ids.question_block_id(question)
        block = block if block in values else next(iter(values), block)
        errors.setdefault(block, message)
    return errors


def _date(values: StateValues, block_id: str) -> date | None:
    """A date picker's date; None when none was picked (Slack sends YYYY-MM-DD)."""
    picked = str(_action(values, block_id).get("selected_date") or "")
    try:
        return date.fromisoformat(picked) if picked else None
    except ValueError:
        return None


def _chosen(values: StateValues, block_id: str) -> list[str]:
    """The values of a multi-select's chosen options."""
    return [str(option.get("value")) for option in _action(values, block_id).get("selected_options") or []]


def _action(values: StateValues, block_id: str) -> Mapping[str, Any]:
    return (values.get(block_id) or {}).get(ids.VALUE) or {}


def _text(values: StateValues, block_id: str) -> str:
    actions = values.get(block_id) or {}
    action = actions.get(ids.VALUE) or next(iter(actions.values()), None) or {}
    return clean_characters(str(action.get("value") or "")).strip()


@dataclass(frozen=True)
class KpiAnswers:
    position: int | None  # the KPI chosen (its position), None if none was
    value: str
    measured_on: date | None  # None when no day was picked
    note: str


def read_kpi(values: StateValues) -> KpiAnswers:
    chosen = str((_action(values, ids.KPI_NAME_BLOCK).get("selected_option") or {}).get("value") or "")
    return KpiAnswers(position=int(chosen) if chosen.isdigit() else None, value=_text(values, ids.KPI_VALUE_BLOCK),
                      measured_on=_picked_date(values, ids.MEASURED_ON_BLOCK),
                      note=_text(values, ids.NOTE_BLOCK))


def _picked_date(values: StateValues, block_id: str) -> date | None:
    try:
        return date.fromisoformat(str(_action(values, block_id).get("selected_date") or ""))
    except ValueError:
        return None
