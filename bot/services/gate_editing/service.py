"""Editing the gate definitions. Every change is a new immutable `GateDefinitionVersion`, audited with its
before and after; open reviews stay pinned to the version they started under.

Optimistic concurrency: an edit names the version it was based on. If that is no longer the newest, or another
admin saves the same next version first (the unique (team_id, version) constraint), the edit is refused with a
Conflict and nothing is written.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from bot.services.access.service import Actor, require_admin
from bot.services.audit.service import record_audit, record_audit_at_once
from bot.services.errors import Conflict, InvalidInput
from bot.services.gates.service import Change, Problem, differences, latest_definition, problems_in
from bot.services.initiatives.service import change_stage
from bot.services.reviews.service import cancel_open_review
from bot.services.validation import clean_strings
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
