"""People in the audit trail: their opaque refs, display names over time, and pseudonymisation.

What `pseudonymise` erases: the person's Slack ID, wherever it is stored as a plain column (PERSON_ID_COLUMNS) or
mentioned in audit events and free text (PERSON_TEXT_COLUMNS), becomes a stable pseudonym `UERASED<ref>`; their
display names are deleted. What it keeps: every event, decision, checklist and timestamp, now attributed to the
pseudonym, and the hash chain, which covers refs rather than Slack IDs and so still verifies.
"""

from __future__ import annotations

import secrets
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, String, cast, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col

from bot.services.audit.chain import PERSON_TOKEN, lock_chain, replace_people
from bot.services.errors import Conflict, NotFound
from bot.services.validation import check_user_id, clean_characters
from storage.models import AuditEvent, AuditIdentity
from storage.types import utcnow

PSEUDONYM_PREFIX = "UERASED"
# Columns that hold one Slack user ID, as (table, column), any area's. Named rather than imported so that this
# module, which every service imports, does not depend on every area's models; a name that no longer exists fails
# `pseudonymise` (and its test) loudly.
PERSON_ID_COLUMNS: tuple[tuple[str, str], ...] = (
    ("owner_assignment", "user_id"), ("owner_assignment", "assigned_by"), ("sign_off", "assignee"),
    ("sign_off", "decided_by"), ("gate_review", "opened_by"), ("initiative", "created_by"),
    ("stage_transition", "actor"), ("gate_definition_version", "created_by"),
    ("app_admin", "user_id"), ("app_admin", "added_by"), ("digest", "created_by"), ("user_profile", "user_id"),
    ("nudge_log", "recipient"), ("nudge_snooze", "user_id"), ("delegation", "owner"), ("delegation", "delegate"),
    ("initiative_outcome", "decided_by"), ("initiative_outcome", "ended_by"), ("hold_revisit_prompt", "recipient"),
)
# Free text in which a person may be mentioned (`<@U123>`); only the mention is replaced.
PERSON_TEXT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sign_off", "comment"), ("gate_review", "close_reason"), ("stage_transition", "reason"),
    ("initiative", "description"), ("initiative", "problem"), ("initiative", "retired_reason"),
    ("initiative_outcome", "reason"), ("initiative_outcome", "lessons"),
)
_BATCH = 1000


def refs_for(connection: Connection, *, team_id: str, user_ids: Iterable[str]) -> dict[str, str]:
    """The ref of each ID, creating identity rows for IDs seen for the first time."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    refs = _existing_refs(connection, team_id, wanted)
    missing = wanted - refs.keys()
    if missing:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        rows = [{"team_id": team_id, "user_id": user_id, "ref": secrets.token_hex(8).upper(), "display_names": []}
                for user_id in sorted(missing)]
        # Another transaction may be creating the same person right now: theirs wins, we read it back.
        connection.execute(dialect.insert(AuditIdentity).on_conflict_do_nothing(), rows)
        refs |= _existing_refs(connection, team_id, missing)
    return refs


def _existing_refs(connection: Connection, team_id: str, user_ids: set[str]) -> dict[str, str]:
    rows = connection.execute(select(AuditIdentity.user_id, AuditIdentity.ref).where(
        AuditIdentity.team_id == team_id, col(AuditIdentity.user_id).in_(user_ids)))
    return {user_id: ref for user_id, ref in rows}


def remember_identity(session: Session, *, team_id: str, user_id: str, display_name: str,
                      at: datetime | None = None) -> None:
    """Record a person's display name as of `at` (now), for exports and decision records. Cheap if unchanged."""
    check_user_id(user_id)
    query = select(AuditIdentity).where(AuditIdentity.team_id == team_id, AuditIdentity.user_id == user_id)
    identity = session.scalars(query.with_for_update()).first()
    if identity is None:
        refs_for(session.connection(), team_id=team_id, user_ids=[user_id])
        identity = session.scalars(query.with_for_update()).one()
    display_name = clean_characters(display_name).strip()
    if not display_name or (identity.display_names and identity.display_names[-1][1] == display_name):
        return
    since = (at or utcnow()).isoformat()
    identity.display_names = [*identity.display_names, [since, display_name]]
    session.add(identity)
    session.flush()


def current_names(session: Session, *, team_id: str, user_ids: Iterable[str]) -> dict[str, str]:
    """The latest display name the bot has recorded for each of `user_ids` it has a name for (others are left
    out), in one query: how a terminal shows a mention without asking Slack."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    rows = session.execute(select(AuditIdentity.user_id, AuditIdentity.display_names).where(
        AuditIdentity.team_id == team_id, col(AuditIdentity.user_id).in_(wanted)))
    return {user_id: max(names, key=lambda entry: datetime.fromisoformat(entry[0]))[1]
            for user_id, names in rows if names}


@dataclass
class Person:
    user_id: str
    ref: str
    since: list[datetime] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def name_at(self, at: datetime) -> str:
        """The name in use at `at`; the earliest known name for older events; the Slack ID if none is known."""
        if not self.names:
            return self.user_id
        return self.names[max(bisect_right(self.since, at) - 1, 0)]


@dataclass
class Directory:
    """Everyone in a workspace's audit trail. Its size grows with people, not with events."""

    people: dict[str, Person]

    def name(self, user_id: str | None, at: datetime) -> str:
        if not user_id:
            return ""
        person = self.people.get(user_id)
        return person.name_at(at) if person else user_id


def load_directory(connection: Connection, *, team_id: str) -> Directory:
    people = {}
    for row in connection.execute(select(AuditIdentity).where(AuditIdentity.team_id == team_id)):
        names = sorted((datetime.fromisoformat(since), name) for since, name in row.display_names)
        people[row.user_id] = Person(row.user_id, row.ref, [s for s, _ in names], [n for _, n in names])
    return Directory(people)


@dataclass(frozen=True)
class Pseudonymised:
    user_id: str
    pseudonym: str
    changed: dict[str, int]  # "table.column" -> rows rewritten


def pseudonymise(session: Session, *, team_id: str, user_id: str, now: datetime | None = None) -> Pseudonymised:
    """Replace a person's Slack ID with a stable pseudonym everywhere and forget their names. Audited."""
    check_user_id(user_id)
    if user_id.startswith(PSEUDONYM_PREFIX):
        raise Conflict(f"{user_id} is already a pseudonym; pass the person's original Slack ID.")
    connection = session.connection()
    lock_chain(connection, team_id=team_id)
    identity = session.scalars(select(AuditIdentity).where(
        AuditIdentity.team_id == team_id, AuditIdentity.user_id == user_id).with_for_update()).first()
    if identity is None:
        raise NotFound(f"{user_id} does not appear in {team_id}'s audit trail; check the Slack ID (U…).")
    pseudonym = PSEUDONYM_PREFIX + identity.ref
    changed = {"audit_event": _pseudonymise_events(connection, team_id, {user_id: pseudonym})}
    for table_name, column_name in PERSON_ID_COLUMNS:
        column = SQLModel.metadata.tables[table_name].c[column_name]
        result = connection.execute(update(column.table).where(column.table.c.team_id == team_id, column == user_id)
                                    .values({column_name: pseudonym}))
        changed[f"{table_name}.{column_name}"] = result.rowcount
    for table_name, column_name in PERSON_TEXT_COLUMNS:
        column = SQLModel.metadata.tables[table_name].c[column_name]
        changed[f"{table_name}.{column_name}"] = _replace_in_text(connection, team_id, column, user_id, pseudonym)
    identity.user_id, identity.display_names, identity.pseudonymised_at = pseudonym, [], now or utcnow()
    session.add(identity)
    session.flush()
    session.expire_all()
    return Pseudonymised(user_id, pseudonym, {name: count for name, count in changed.items() if count})


def _pseudonymise_events(connection: Connection, team_id: str, replacements: dict[str, str]) -> int:
    (user_id,) = replacements
    mentions = (col(AuditEvent.actor) == user_id) | col(AuditEvent.subject_key).contains(user_id) \
        | cast(AuditEvent.before, String).contains(user_id) | cast(AuditEvent.after, String).contains(user_id)
    changed, last_id = 0, 0
    while True:
        rows = connection.execute(
            select(AuditEvent.id, AuditEvent.actor, AuditEvent.subject_key, AuditEvent.before, AuditEvent.after)
            .where(AuditEvent.team_id == team_id, col(AuditEvent.id) > last_id, mentions)
            .order_by(col(AuditEvent.id)).limit(_BATCH)
        ).all()
        if not rows:
            return changed
        for row in rows:
            values = {name: replace_people(getattr(row, name), replacements)
                      for name in ("actor", "subject_key", "before", "after")}
            if any(values[name] != getattr(row, name) for name in values):
                connection.execute(update(AuditEvent).where(col(AuditEvent.id) == row.id).values(values))
                changed += 1
        last_id = rows[-1].id


def _replace_in_text(connection: Connection, team_id: str, column: Column[Any], user_id: str, pseudonym: str) -> int:
    table = column.table
    key_columns = list(table.primary_key.columns)
    rows = connection.execute(select(*key_columns, column).where(table.c.team_id == team_id,
                                                                  column.contains(user_id))).all()
    changed = 0
    for row in rows:
        value = row[-1]
        new_value = PERSON_TOKEN.sub(lambda m: pseudonym if m.group() == user_id else m.group(), value)
        if new_value != value:
            where = [key == row[i] for i, key in enumerate(key_columns)]
            connection.execute(update(table).where(*where).values({column.key: new_value}))
            changed += 1
    return changed
