"""The audit trail: one append-only, hash-chained row per state change (see bot/services/audit/chain.py).

Events join the chain when their transaction commits, not when they are recorded. Appending takes the workspace's
chain lock, which every other writer of that workspace waits for; taken at the first event, it would be held
through the rest of the transaction (a decision's notifications, webhooks, the gate it passes), and decisions made
at once would queue behind each other for all of it. Taken at commit, it covers four statements and the COMMIT.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from bot.services.audit.chain import (
    ChainFields,
    canonical,
    chain_hash,
    chain_head,
    lock_chain,
    normalise_json,
    person_tokens,
    ref_replacements,
)
from bot.services.audit.identity import refs_for
from storage.models import AuditEvent
from storage.types import utcnow

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


def _append(session: Session, events: list[ChainFields]) -> list[AuditEvent]:
    connection = session.connection()
    appended: list[AuditEvent] = []
    for team_id in dict.fromkeys(fields.team_id for fields in events):
        mine = [fields for fields in events if fields.team_id == team_id]
        # People's refs first: creating one is the only write here that needs no chain lock.
        refs = refs_for(connection, team_id=team_id, user_ids=set(chain.from_iterable(map(person_tokens, mine))))
        replacements = ref_replacements(refs)
        lock_chain(connection, team_id=team_id)
        seq, prev_hash = chain_head(connection, team_id=team_id)
        for fields in mine:
            seq += 1
            chained = replace(fields, seq=seq)
            new_hash = chain_hash(prev_hash, canonical(chained, replacements))
            appended.append(AuditEvent(**vars(chained), prev_hash=prev_hash, hash=new_hash))
            prev_hash = new_hash
    session.add_all(appended)
    session.flush()
    return appended


def _forget_recorded_events(session: Session) -> None:
    session.info.get(_UNCHAINED, []).clear()
