"""Rules for a gate definition document (the shape of `default_gates.yml`): its JSON Schema, the semantic checks
a schema cannot express, and the difference between two documents.

Problems carry the path of the offending node (`("gates", 1, "required_roles", "high", 0)`), so that the YAML
import can name its line and the modals can name the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from bot.services.validation import RISK_TIERS

SCHEMA_FILE = Path(__file__).with_name("gates_schema.json")
LABEL_MAX = 75  # Slack's limit for the text of a checkbox or select option
# The Approve modal shows one role's checklist as checkbox groups of ten, and lists it again under "Items you
# waive" (a select of at most 100 options); this cap keeps it well within both and within a modal's 100 blocks.
MAX_CHECKLIST_ITEMS_PER_ROLE = 30

Path_ = tuple[str | int, ...]
# A checklist item's control: FRAMEWORK:REFERENCE (EU-AI-ACT:Art.9, NIST-AI-RMF:MEASURE-2.7, ISO-42001:A.6.2.4).
CONTROL_REFERENCE = re.compile(r"[A-Z][A-Z0-9-]*:[A-Za-z0-9][A-Za-z0-9.()-]*")


@dataclass(frozen=True)
class Problem:
    path: Path_
    message: str
    at_key: bool = False  # point at the mapping key named by the last path element, not at its value


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def problems_in(document: Any) -> list[Problem]:
    """Every problem: schema problems first; semantic checks only once the shape is right."""
    found = list(_schema_problems(document))
    if found:
        return found
    return list(_semantic_problems(document))


def normalised(value: Any) -> Any:
    """A loaded YAML value as JSON stores it: mapping keys as strings (YAML allows `1:` or `true:` as keys)."""
    if isinstance(value, dict):
        return {str(k): normalised(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    return value


# --- schema -------------------------------------------------------------------------------------------------

def _schema_problems(document: Any) -> Iterator[Problem]:
    return schema_problems(document, schema())


def schema_problems(document: Any, json_schema: dict[str, Any]) -> Iterator[Problem]:
    """`document`'s departures from `json_schema`, each said in plain words at its path."""
    validator = Draft202012Validator(json_schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        yield from _explain(error)


def _explain(error: ValidationError) -> Iterator[Problem]:
    path: Path_ = tuple(error.absolute_path)
    field = _field(path)
    kind, value = error.validator, error.instance
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        for extra in sorted(set(value) - set(allowed), key=str):
            hint = f"; expected one of {', '.join(allowed)}" if allowed else ""
            yield Problem((*path, extra), f"{_field((*path, extra))}: unknown field '{extra}'{hint}", at_key=True)
        return
    if kind == "required":
        missing = [name for name in error.validator_value if name not in value]
        yield Problem(path, f"{field or 'the file'}: the field '{missing[0]}' is missing")
        return
    if kind == "maxLength" and error.validator_value == LABEL_MAX:
        message = f"{field}: '{_clip(value)}' is {len(value)} characters; Slack shows at most {LABEL_MAX}"
    elif kind == "maxLength":
        message = f"{field}: '{_clip(value)}' is {len(value)} characters; keep it within {error.validator_value}"
    elif kind == "minLength":
        message = f"{field}: must not be empty"
    elif kind == "pattern" and error.validator_value.startswith("^[a-z]"):
        message = f"{field}: '{_clip(value)}' is not an id; use lowercase letters, digits and dashes, like 'pilot-exit'"
    elif kind == "pattern" and error.validator_value.startswith("^[A-Za-z0-9_-]"):
        message = (f"{field}: '{_clip(value)}' is not an MLflow alias; use letters, digits, dashes and underscores, "
                   f"like 'champion'")
    elif kind == "pattern":
        message = f"{field}: '{_clip(value)}' is not a date; write dates as YYYY-MM-DD"
    elif kind == "propertyNames":
        message = f"{field}: '{_clip(value)}' is not an id; use lowercase letters, digits and dashes"
    elif kind == "type":
        message = f"{field or 'the file'}: expected {_a(error.validator_value)}, got {_describe(value)}"
    elif kind == "const":
        message = f"{field}: must be {error.validator_value}"
    elif kind in ("minimum", "maximum"):
        bounds = error.schema
        message = f"{field}: {value} is out of range; use {bounds.get('minimum')} to {bounds.get('maximum')}"
    elif kind in ("minItems", "minProperties"):
        message = f"{field}: needs at least {error.validator_value}"
    elif kind in ("maxItems", "maxProperties"):
        message = f"{field}: at most {error.validator_value} allowed"
    elif kind == "uniqueItems":
        message = f"{field}: lists the same role twice"
    else:
        message = f"{field}: {error.message}"
    yield Problem(path, message)


def _field(path: Path_) -> str:
    """("gates", 1, "required_roles", "high") -> "gates[1].required_roles.high"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _a(type_name: str | list[str]) -> str:
    names = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number",
             "boolean": "true or false", "number": "a number"}
    if isinstance(type_name, list):
        return " or ".join(names.get(t, t) for t in type_name)
    return names.get(type_name, type_name)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"'{_clip(str(value))}'"


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- semantics ----------------------------------------------------------------------------------------------

def _semantic_problems(document: dict[str, Any]) -> Iterator[Problem]:
    roles: dict[str, Any] = document["roles"]
    stages: list[dict[str, Any]] = document["stages"]
    gates: list[dict[str, Any]] = document["gates"]
    yield from _duplicates([s["id"] for s in stages], ("stages",), "stage")
    yield from _duplicates([g["id"] for g in gates], ("gates",), "gate")
    order = [s["id"] for s in stages]
    leaving: dict[str, str] = {}
    for index, gate in enumerate(gates):
        where, name = ("gates", index), gate["id"]
        for end in ("from", "to"):
            if gate[end] not in order:
                verb = "starts at" if end == "from" else "leads to"
                yield Problem((*where, end), f"gate '{name}' {verb} stage '{gate[end]}', which is not a known stage")
        if gate["from"] in order and gate["to"] in order:
            position = order.index(gate["from"])
            if position + 1 >= len(order) or order[position + 1] != gate["to"]:
                after = order[position + 1] if position + 1 < len(order) else None
                hint = f" ({gate['from']} -> {after})" if after else f"; '{gate['from']}' is the last stage"
                yield Problem(where, f"gate '{name}' goes from '{gate['from']}' to '{gate['to']}', but a gate must "
                                     f"link a stage to the next one{hint}")
            elif gate["from"] in leaving:
                yield Problem(where, f"gates '{leaving[gate['from']]}' and '{name}' both leave stage "
                                     f"'{gate['from']}'; keep one")
            else:
                leaving[gate["from"]] = name
        yield from _gate_role_problems(gate, where, roles)
    for index, stage in enumerate(stages):
        yield from _reattestation_problems(stage, ("stages", index), roles)
    for index, stage_id in enumerate(order[:-1]):
        if stage_id not in leaving and not any(g["from"] == stage_id for g in gates):
            yield Problem(("stages", index), f"no gate leads from stage '{stage_id}' to '{order[index + 1]}'; "
                                             f"every stage but the last needs one")
    for index, holiday in enumerate(document.get("holidays", [])):
        try:
            date.fromisoformat(holiday)
        except ValueError:
            yield Problem(("holidays", index), f"holiday '{holiday}' is not a real date")


def _gate_role_problems(gate: dict[str, Any], where: Path_, roles: dict[str, Any]) -> Iterator[Problem]:
    name = gate["id"]
    for tier in RISK_TIERS:
        for position, role in enumerate(gate["required_roles"][tier]):
            path = (*where, "required_roles", tier, position)
            if role not in roles:
                yield Problem(path, f"gate '{name}' requires role '{role}', which is not a known role")
            elif roles[role].get("signs_off", True) is False:
                yield Problem(path, f"gate '{name}' requires role '{role}', which does not sign off "
                                    f"(signs_off: false)")
    for role, items in gate.get("checklist", {}).items():
        path = (*where, "checklist", role)
        if role not in roles:
            yield Problem(path, f"gate '{name}' has a checklist for role '{role}', which is not a known role",
                          at_key=True)
        if len(items) > MAX_CHECKLIST_ITEMS_PER_ROLE:
            yield Problem(path, f"gate '{name}' gives role '{role}' {len(items)} checklist items; at most "
                                f"{MAX_CHECKLIST_ITEMS_PER_ROLE} fit in the Approve modal", at_key=True)
        yield from _duplicates([i["id"] for i in items], path, f"checklist item of gate '{name}', role '{role}',")
        for index, item in enumerate(items):
            for position, reference in enumerate(item.get("controls", ())):
                if not CONTROL_REFERENCE.fullmatch(reference):
                    yield Problem((*path, index, "controls", position),
                                  f"'{reference}' is not a control reference; write FRAMEWORK:REFERENCE, like "
                                  "'EU-AI-ACT:Art.9'")


def _reattestation_problems(stage: dict[str, Any], where: Path_, roles: dict[str, Any]) -> Iterator[Problem]:
    name, has_checklist = stage["id"], bool(stage.get("reattest_checklist"))
    if "reattest_every_days" in stage and not has_checklist:
        yield Problem((*where, "reattest_every_days"), f"stage '{name}' sets reattest_every_days but no "
                                                       f"reattest_checklist; say what each role confirms again",
                      at_key=True)
    if has_checklist and "reattest_every_days" not in stage:
        yield Problem((*where, "reattest_checklist"), f"stage '{name}' has a reattest_checklist but no "
                                                      f"reattest_every_days; say how often, e.g. 90", at_key=True)
    for role, items in stage.get("reattest_checklist", {}).items():
        path = (*where, "reattest_checklist", role)
        if role not in roles:
            yield Problem(path, f"stage '{name}' has a re-attestation checklist for role '{role}', which is not a "
                                f"known role", at_key=True)
        elif roles[role].get("signs_off", True) is False:
            yield Problem(path, f"stage '{name}' asks role '{role}' to re-attest, which does not sign off "
                                f"(signs_off: false)", at_key=True)
        if len(items) > MAX_CHECKLIST_ITEMS_PER_ROLE:
            yield Problem(path, f"stage '{name}' gives role '{role}' {len(items)} re-attestation items; at most "
                                f"{MAX_CHECKLIST_ITEMS_PER_ROLE} fit in the Approve modal", at_key=True)
        yield from _duplicates([i["id"] for i in items], path,
                               f"re-attestation item of stage '{name}', role '{role}',")


def _duplicates(ids: list[str], where: Path_, what: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, item_id in enumerate(ids):
        if item_id in seen:
            yield Problem((*where, index, "id"), f"{what} id '{item_id}' is used twice; ids must be unique")
        seen.add(item_id)


# --- differences --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    path: str  # "gates.idea-to-pilot.sla_business_days"
    before: Any  # None when added
    after: Any  # None when removed


def flatten(document: dict[str, Any]) -> dict[str, Any]:
    """Leaves by readable path; lists of things with an id are keyed by id, with their order as `.order`."""
    leaves: dict[str, Any] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and value and all(isinstance(v, dict) and "id" in v for v in value):
            leaves[f"{path}.order"] = [v["id"] for v in value]
            for item in value:
                walk({k: v for k, v in item.items() if k != "id"} or {"present": True}, f"{path}.{item['id']}")
        else:
            leaves[path] = value

    walk(document, "")
    return leaves


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    old, new = flatten(before), flatten(after)
    paths = list(old) + [p for p in new if p not in old]
    return [Change(p, old.get(p), new.get(p)) for p in paths if old.get(p) != new.get(p)]


def describe(change: Change) -> str:
    if change.before is None:
        return f"+ {change.path}: {_show(change.after)}"
    if change.after is None:
        return f"- {change.path}: {_show(change.before)}"
    return f"~ {change.path}: {_show(change.before)} -> {_show(change.after)}"


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)
