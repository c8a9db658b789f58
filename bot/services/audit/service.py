"""The audit trail: one append-only, hash-chained row per state change (see bot/services/audit/chain.py).

Events join the chain when their transaction commits, not when they are recorded. Appending takes the workspace's
chain lock, which every other writer of that workspace waits for; taken at the first event, it would be held
through the rest of the transaction (a decision's notifications, webhooks, the gate it passes), and decisions made
at once would queue behind each other for all of it. Taken at commit, it covers four statements and the COMMIT.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import Connection, event
from sqlmodel import Session

from bot.services.audit.chain import (
    ChainFields,
    ChainReport,
    canonical,
    chain_hash,
    chain_head,
    lock_chain,
    normalise_json,
    person_tokens,
    ref_replacements,
    verify_chain,
)
from bot.services.audit.export import ExportFilter, export_rows, write_export
from bot.services.audit.identity import (
    PSEUDONYM_PREFIX,
    Directory,
    current_names,
    load_directory,
    pseudonymise,
    refs_for,
    remember_identity,
)
from storage.models import AuditEvent
from storage.types import utcnow

# The domain's public face: what the rest of the bot may call (its other modules are internals).
__all__ = [
    "PSEUDONYM_PREFIX", "AuditEntry", "ChainReport", "Directory", "ExportFilter", "chain_recorded_events",
    "current_names", "export_rows", "load_directory", "pseudonymise", "record_audit", "record_audit_at_once",
    "record_audit_events_at_once", "remember_identity", "verify_chain", "write_export"
]

# session.info key: the events recorded in this transaction that have not joined the chain yet, in order.
_UNCHAINED = "audit.unchained"


def record_audit(
    session: Session,
    *,
    team_id: str,
    actor: str,
    action: str,
    subject_type: str,
    subject_key: str,
    initiative_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    definition_version: int | None = None,
    at: datetime | None = None,
) -> None:
    """Record an event in the caller's transaction; it joins the workspace's chain when the transaction commits,
    after the events recorded before it.

    Inside a savepoint the event joins the chain at once, so that a savepoint rolled back takes it along."""
    fields = ChainFields(team_id=team_id, seq=0, at=at or utcnow(), actor=actor, action=action,
                         subject_type=subject_type, subject_key=subject_key, initiative_id=initiative_id,
                         definition_version=definition_version, before=normalise_json(before),
                         after=normalise_json(after))
    if session.in_nested_transaction():
        _append(session, [fields])
        return
    if _UNCHAINED not in session.info:
        session.info[_UNCHAINED] = []
        event.listen(session, "before_commit", chain_recorded_events)
        event.listen(session, "after_rollback", _forget_recorded_events)
    session.info[_UNCHAINED].append(fields)


def record_audit_at_once(session: Session, **event_fields: Any) -> AuditEvent:
    """`record_audit`, joining the chain now (with the events recorded before it), for a caller that must refer
    to the event's row: a stage transition's cause. The chain lock is then held for the rest of the
    transaction."""
    record_audit(session, **event_fields)
    return chain_recorded_events(session)[-1]


def chain_recorded_events(session: Session) -> list[AuditEvent]:
    """Append the transaction's unchained events to their workspaces' chains, in the order they were recorded."""
    unchained: list[ChainFields] = session.info.get(_UNCHAINED) or []
    appended = _append(session, list(unchained))
    unchained.clear()
    return appended


@dataclass(frozen=True)
class AuditEntry:
    """One event of `record_audit_events_at_once`: the arguments of `record_audit`, but the workspace."""

    actor: str
    action: str
    subject_type: str
    subject_key: str
    at: datetime
    initiative_id: int | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    definition_version: int | None = None


def record_audit_events_at_once(session: Session, *, team_id: str, entries: Sequence[AuditEntry]) -> list[int]:
    """Many events of one workspace joining its chain now, after those recorded before them, with one multi-row
    INSERT: an import's thousands, whose stage transitions refer to them. Returns their ids, in order. The chain
    lock is then held for the rest of the transaction, as with `record_audit_at_once`."""
    chain_recorded_events(session)
    connection = session.connection()
    rows = _chained(connection, team_id=team_id, events=[
        ChainFields(team_id=team_id, seq=0, at=entry.at, actor=entry.actor, action=entry.action,
                    subject_type=entry.subject_type, subject_key=entry.subject_key,
                    initiative_id=entry.initiative_id, definition_version=entry.definition_version,
                    before=normalise_json(entry.before), after=normalise_json(entry.after))
        for entry in entries])
    if not rows:
        return []
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    return list(connection.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows).scalars())


def _append(session: Session, events: list[ChainFields]) -> list[AuditEvent]:
    connection = session.connection()
    appended: list[AuditEvent] = []
    for team_id in dict.fromkeys(fields.team_id for fields in events):
        mine = [fields for fields in events if fields.team_id == team_id]
        appended.extend(AuditEvent(**row) for row in _chained(connection, team_id=team_id, events=mine))
    session.add_all(appended)
    session.flush()
    return appended


def _chained(connection: Connection, *, team_id: str, events: list[ChainFields]) -> list[dict[str, Any]]:
    """The rows of one workspace's events appended to its chain, numbered and hashed; takes the chain lock."""
    if not events:
        return []
    # People's refs first: creating one is the only write here that needs no chain lock.
    refs = refs_for(connection, team_id=team_id, user_ids=set(chain.from_iterable(map(person_tokens, events))))
    replacements = ref_replacements(refs)
    lock_chain(connection, team_id=team_id)
    seq, prev_hash = chain_head(connection, team_id=team_id)
    rows = []
    for fields in events:
        seq += 1
        chained = replace(fields, seq=seq)
        new_hash = chain_hash(prev_hash, canonical(chained, replacements))
        rows.append({**vars(chained), "prev_hash": prev_hash, "hash": new_hash})
        prev_hash = new_hash
    return rows


def _forget_recorded_events(session: Session) -> None:
    session.info.get(_UNCHAINED, []).clear()
