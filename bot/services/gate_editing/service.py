"""Editing the gate definitions. Every change is a new immutable `GateDefinitionVersion`, audited with its
before and after; open reviews stay pinned to the version they started under.

Optimistic concurrency: an edit names the version it was based on. If that is no longer the newest, or another
admin saves the same next version first (the unique (team_id, version) constraint), the edit is refused with a
Conflict and nothing is written.

The edits the Slack modals offer (edit, add, remove or move a stage; checklists; holidays) are each one new
definition version through `save_definition`.

Stages and gates stay linked: a gate belongs to the stage it leaves. After a stage is added, removed or moved,
each stage but the last keeps its leaving gate (now pointing at its new next stage); a stage that has none gets
a new gate that copies the required roles of the gate before it, with an empty checklist.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from bot.services.access.service import Actor, require_admin
from bot.services.audit.service import record_audit, record_audit_at_once
from bot.services.errors import Conflict, InvalidInput, NotFound
from bot.services.gates.service import Change, Problem, differences, latest_definition, problems_in
from bot.services.initiatives.service import change_stage
from bot.services.reviews.service import cancel_open_review
from bot.services.validation import RISK_TIERS, clean_characters, clean_strings
from bot.services.versioning import insert_next_version
from storage.models import GateDefinitionVersion, GateReview, Initiative


@dataclass(frozen=True)
class SavedDefinition:
    """The outcome of a save: the new version, what changed, and the initiatives moved off removed stages."""

    version: int
    previous: int
    changes: list[Change]
    moved: dict[str, str] = field(default_factory=dict)  # initiative key -> stage it was moved to


class InvalidDefinition(InvalidInput):
    """The edited document breaks a rule; `problems` holds every one (with its path), the message the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"That change cannot be saved: {problems[0].message}.")


class StageStillHolds(Conflict):
    """A stage to remove still holds initiatives and no stage was named to move them to (`move_to`)."""


def current_document(session: Session, *, team_id: str) -> tuple[int, dict[str, Any]]:
    """The newest version number and a private copy of its document, to edit and save."""
    row = latest_definition(session, team_id=team_id)
    return row.version, copy.deepcopy(row.definition)


def save_definition(
    session: Session,
    *,
    actor: Actor,
    document: dict[str, Any],
    based_on: int,
    comment: str = "",
    move_to: Mapping[str, str] | None = None,
) -> SavedDefinition | None:
    """Store `document` as the next version, or return None when it equals the newest one.

    `move_to` maps a removed stage to the stage its initiatives move to; removing a stage that still holds
    initiatives without one is refused."""
    require_admin(actor, doing="change the gate definitions")
    document = clean_strings(document)
    problems = problems_in(document)
    if problems:
        raise InvalidDefinition(problems)
    latest = latest_definition(session, team_id=actor.team_id)
    if latest.version != based_on:
        raise stale_edit(based_on, latest.version)
    changes = differences(latest.definition, document)
    if not changes:
        return None
    stays = [s["id"] for s in document["stages"]]
    removed = [s["id"] for s in latest.definition["stages"] if s["id"] not in stays]
    moves = _planned_moves(session, team_id=actor.team_id, removed=removed, stays=stays, move_to=move_to or {})
    version = latest.version + 1
    insert_next_version(session, GateDefinitionVersion(team_id=actor.team_id, version=version, definition=document,
                                                       created_by=actor.user_id, comment=comment[:500]),
                        stale=lambda: stale_edit(based_on, latest_definition(session, team_id=actor.team_id).version))
    record_audit(session, team_id=actor.team_id, actor=actor.user_id, action="gates.changed", subject_type="gates",
                 subject_key=f"v{version}",
                 before={"version": latest.version, **{c.path: c.before for c in changes}},
                 after={"version": version, **{c.path: c.after for c in changes}, "comment": comment},
                 definition_version=version)
    moved = {initiative.key: target for initiative, target in moves}
    for initiative, target in moves:
        _move_off_removed_stage(session, actor=actor, initiative=initiative, to_stage=target, version=version)
    _cancel_reviews_into(session, actor=actor, removed=removed, version=version)
    return SavedDefinition(version=version, previous=latest.version, changes=changes, moved=moved)


def stale_edit(based_on: int, newest: int) -> Conflict:
    return Conflict(f"Someone else changed the gate definitions (now version {newest}) since you opened version "
                    f"{based_on}; reopen them and make your change again.")


def _planned_moves(session: Session, *, team_id: str, removed: list[str], stays: list[str],
                   move_to: Mapping[str, str]) -> list[tuple[Initiative, str]]:
    moves: list[tuple[Initiative, str]] = []
    for stage_id in removed:
        held = list(session.exec(
            select(Initiative).where(Initiative.team_id == team_id, Initiative.stage == stage_id)
            .order_by(col(Initiative.number))
        ))
        if not held:
            continue
        target = move_to.get(stage_id)
        if not target:
            keys = ", ".join(i.key for i in held[:5]) + (" and more" if len(held) > 5 else "")
            raise StageStillHolds(f"Stage '{stage_id}' still holds {keys}; name a stage to move them to, or move them "
                           f"first.")
        if target not in stays:
            raise InvalidInput(f"Cannot move initiatives to '{target}': it is not a stage after this change.")
        moves += [(initiative, target) for initiative in held]
    return moves


def _move_off_removed_stage(session: Session, *, actor: Actor, initiative: Initiative, to_stage: str,
                            version: int) -> None:
    reason = f"stage '{initiative.stage}' was removed in gate definitions v{version}"
    cancel_open_review(session, actor=actor, initiative=initiative, reason=reason)
    audit = record_audit_at_once(session, team_id=initiative.team_id, actor=actor.user_id,
                                 action="stage.moved_by_gate_change", subject_type="initiative",
                                 subject_key=initiative.key, initiative_id=initiative.id,
                                 before={"stage": initiative.stage}, after={"stage": to_stage, "reason": reason},
                                 definition_version=version)
    change_stage(session, initiative=initiative, to_stage=to_stage, actor=actor.user_id, reason=reason,
                 audit_event_id=audit.id)


def _cancel_reviews_into(session: Session, *, actor: Actor, removed: list[str], version: int) -> None:
    """A review whose target stage no longer exists could never land; cancel it so it can be submitted again."""
    if not removed:
        return
    reviews = session.exec(
        select(GateReview).where(GateReview.team_id == actor.team_id, GateReview.state == "open",
                                 col(GateReview.to_stage).in_(removed))
    )
    for review in list(reviews):
        initiative = session.get(Initiative, review.initiative_id)
        assert initiative is not None  # a foreign key
        cancel_open_review(session, actor=actor, initiative=initiative,
                           reason=f"stage '{review.to_stage}' was removed in gate definitions v{version}")


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
