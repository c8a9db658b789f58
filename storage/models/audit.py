"""Who the people in the audit trail are: kept apart from the hash chain so that they can be erased.

The chain covers an opaque `ref` for each person (bot/services/audit/chain.py swaps Slack user IDs for refs before
hashing). Pseudonymising someone rewrites their Slack ID to a pseudonym here and in the plain columns, and drops
their display names; the refs, and therefore every hash, stay the same.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.core import JSONType
from storage.types import UTCDateTime


class AuditIdentity(SQLModel, table=True):
    """One person (or ID-shaped token) seen in a workspace's audit trail, and their display names over time."""

    __tablename__ = "audit_identity"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", name="uq_audit_identity_user"),
        UniqueConstraint("team_id", "ref", name="uq_audit_identity_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    user_id: str = Field(max_length=32)
    ref: str = Field(max_length=16)
    # [[since (UTC ISO 8601), display name], ...], oldest first; emptied by pseudonymisation.
    display_names: list = Field(default_factory=list, sa_type=JSONType, nullable=False)
    pseudonymised_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
