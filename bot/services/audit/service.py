"""The audit trail: one append-only, hash-chained row per state change (see bot/services/audit/chain.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
) -> AuditEvent:
    """Append an event to the workspace's chain, in the caller's transaction.

    Takes the workspace's chain lock (held until commit), reads the head with one indexed query, and inserts.
    Nothing is cached across transactions.
    """
    connection = session.connection()
    lock_chain(connection, team_id=team_id)
    seq, prev_hash = chain_head(connection, team_id=team_id)
    fields = ChainFields(team_id=team_id, seq=seq + 1, at=at or utcnow(), actor=actor, action=action,
                         subject_type=subject_type, subject_key=subject_key, initiative_id=initiative_id,
                         definition_version=definition_version, before=normalise_json(before),
                         after=normalise_json(after))
    refs = refs_for(connection, team_id=team_id, user_ids=person_tokens(fields))
    event = AuditEvent(
        team_id=team_id,
        at=fields.at,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_key=subject_key,
        initiative_id=initiative_id,
        before=fields.before,
        after=fields.after,
        definition_version=definition_version,
        seq=fields.seq,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, canonical(fields, ref_replacements(refs))),
    )
    session.add(event)
    session.flush()
    return event

