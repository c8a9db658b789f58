"""The audit trail: one append-only row per state change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

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
    event = AuditEvent(
        team_id=team_id,
        at=at or utcnow(),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_key=subject_key,
        initiative_id=initiative_id,
        before=before,
        after=after,
        definition_version=definition_version,
    )
    session.add(event)
    session.flush()
    return event
