"""The edits the Slack modals offer, each one a new definition version through `gate_admin.save_definition`.

Stages and gates stay linked: a gate belongs to the stage it leaves. After a stage is added, removed or moved,
each stage but the last keeps its leaving gate (now pointing at its new next stage); a stage that has none gets
a new gate that copies the required roles of the gate before it, with an empty checklist.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from bot.services.access.service import Actor, require_admin
from bot.services.errors import InvalidInput, NotFound
from bot.services.gate_editing.service import SavedDefinition, current_document, save_definition, stale_edit
from bot.services.validation import RISK_TIERS, clean_characters

Document = dict[str, Any]


def add_stage(session: Session, *, actor: Actor, based_on: int, name: str, after: str | None,
              stall_after_days: int | None = None) -> SavedDefinition | None:
    """Insert a stage after `after` (None: first), with a gate from and to its neighbours."""
    document = _editable(session, actor=actor, based_on=based_on)
    stage: dict[str, Any] = {"id": _new_id(name, [s["id"] for s in document["stages"]]), "name": name.strip()}
    if stall_after_days:
        stage["stall_after_days"] = stall_after_days
    position = 0 if after is None else _stage_index(document, after) + 1
    document["stages"].insert(position, stage)
    _relink(document)
    return save_definition(session, actor=actor, document=document, based_on=based_on,
                           comment=f"added stage {stage['id']}")


@dataclass(frozen=True)
class GateSettings:
    """What an admin sets on the gate that leaves a stage."""

    name: str
    sla_business_days: int
    nudge_first_after: int
    nudge_every: int
    required_roles: Mapping[str, Sequence[str]]  # risk tier -> roles


def edit_stage(session: Session, *, actor: Actor, based_on: int, stage_id: str, name: str,
               stall_after_days: int | None, leaving_gate: GateSettings | None = None) -> SavedDefinition | None:
    """Rename a stage, set its stall threshold and, in the same version, the gate that leaves it."""
    document = _editable(session, actor=actor, based_on=based_on)
    stage = document["stages"][_stage_index(document, stage_id)]
    stage["name"] = name.strip()
    stage.pop("stall_after_days", None)
    if stall_after_days:
        stage["stall_after_days"] = stall_after_days
    if leaving_gate is not None:
        gate = next((g for g in document["gates"] if g["from"] == stage_id), None)
        if gate is None:
            raise InvalidInput(f"Stage '{stage_id}' is the last stage; no gate leaves it.")
        gate["name"] = leaving_gate.name.strip()
        gate["sla_business_days"] = leaving_gate.sla_business_days
        gate["nudge"] = {"first_after_business_days": leaving_gate.nudge_first_after,
                         "repeat_every_business_days": leaving_gate.nudge_every}
        gate["required_roles"] = {tier: list(leaving_gate.required_roles.get(tier, ())) for tier in RISK_TIERS}
    return save_definition(session, actor=actor, document=document, based_on=based_on,
                           comment=f"edited stage {stage_id}")


def remove_stage(session: Session, *, actor: Actor, based_on: int, stage_id: str,
                 move_to: str | None = None) -> SavedDefinition | None:
    document = _editable(session, actor=actor, based_on=based_on)
    del document["stages"][_stage_index(document, stage_id)]
    _relink(document)
    return save_definition(session, actor=actor, document=document, based_on=based_on,
                           comment=f"removed stage {stage_id}", move_to={stage_id: move_to} if move_to else None)


def move_stage(session: Session, *, actor: Actor, based_on: int, stage_id: str, offset: int) -> SavedDefinition | None:
    """Move a stage earlier (offset -1) or later (+1) in the order."""
    document = _editable(session, actor=actor, based_on=based_on)
    stages = document["stages"]
    index = _stage_index(document, stage_id)
    target = index + offset
    if not 0 <= target < len(stages):
        raise InvalidInput(f"Stage '{stage_id}' is already {'first' if offset < 0 else 'last'}.")
    stages.insert(target, stages.pop(index))
    _relink(document)
    return save_definition(session, actor=actor, document=document, based_on=based_on,
                           comment=f"moved stage {stage_id}")


def set_checklists(session: Session, *, actor: Actor, based_on: int, gate_id: str,
                   labels_by_role: Mapping[str, Iterable[str]]) -> SavedDefinition | None:
    """Replace the given roles' checklists at a gate, one item per label; unchanged labels keep their ids, and
    what the modal does not show (an automatic `check`, the `controls` it evidences)."""
    document = _editable(session, actor=actor, based_on=based_on)
    gate = _gate(document, gate_id)
    checklist = gate.setdefault("checklist", {})
    for role, labels in labels_by_role.items():
        if role not in document["roles"]:
            raise NotFound(f"There is no role '{role}'.")
        existing = {item["label"]: item for item in checklist.get(role, [])}
        items: list[dict[str, Any]] = []
        for label in (clean_characters(line).strip() for line in labels):
            if label in existing:
                items.append(existing[label])
            elif label:
                taken = [i["id"] for i in items] + [i["id"] for i in existing.values()]
                items.append({"id": _new_id(label, taken), "label": label})
        if items:
            checklist[role] = items
        else:
            checklist.pop(role, None)
    if not checklist:
        del gate["checklist"]
    return save_definition(session, actor=actor, document=document, based_on=based_on,
                           comment=f"edited the checklists of gate {gate_id}")


def set_holidays(session: Session, *, actor: Actor, based_on: int, holidays: Iterable[date]) -> SavedDefinition | None:
    document = _editable(session, actor=actor, based_on=based_on)
    document["holidays"] = sorted({d.isoformat() for d in holidays})
    return save_definition(session, actor=actor, document=document, based_on=based_on, comment="edited holidays")


def _editable(session: Session, *, actor: Actor, based_on: int) -> Document:
    """The newest document to edit, refusing non-admins and stale edits before anything else."""
    require_admin(actor, doing="change the gate definitions")
    version, document = current_document(session, team_id=actor.team_id)
    if version != based_on:
        raise stale_edit(based_on, version)
    return document


def _stage_index(document: Document, stage_id: str) -> int:
    for index, stage in enumerate(document["stages"]):
        if stage["id"] == stage_id:
            return index
    raise NotFound(f"There is no stage '{stage_id}'; it may have been removed. Reopen the gates to see them.")


def _gate(document: Document, gate_id: str) -> dict[str, Any]:
    for gate in document["gates"]:
        if gate["id"] == gate_id:
            return gate
    raise NotFound(f"There is no gate '{gate_id}'; it may have been removed. Reopen the gates to see them.")


def _relink(document: Document) -> None:
    """Re-point every gate after the stage order changed (see the module docstring)."""
    stages = [s["id"] for s in document["stages"]]
    names = {s["id"]: s["name"] for s in document["stages"]}
    leaving = {gate["from"]: gate for gate in document["gates"]}
    taken = [gate["id"] for gate in document["gates"]]
    gates: list[dict[str, Any]] = []
    for here, following in itertools.pairwise(stages):
        gate = leaving.get(here)
        if gate is None:
            roles = gates[-1]["required_roles"] if gates else _all_signing_roles(document)
            gate = {"id": _new_id(f"{here}-to-{following}", taken), "name": f"{names[following]} approval"[:75],
                    "from": here, "to": following, "required_roles": {t: list(r) for t, r in roles.items()}}
            taken.append(gate["id"])
        gate["to"] = following
        gates.append(gate)
    document["gates"] = gates


def _all_signing_roles(document: Document) -> dict[str, list[str]]:
    roles = [role for role, spec in document["roles"].items() if spec.get("signs_off", True)]
    return {tier: roles for tier in RISK_TIERS}


def _new_id(text: str, taken: Iterable[str]) -> str:
    """A readable id from a name ('Pilot exit' -> 'pilot-exit'), made unique among `taken`."""
    # Ids are at most 32 characters; keep room for a "-2" suffix.
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    base = (base if base[:1].isalpha() else f"x-{base}")[:29].rstrip("-")
    taken = set(taken)
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate
