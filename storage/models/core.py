"""The initiative / gate / sign-off domain tables.

Invariants live in the schema as well as in code, so that a bug or a second replica cannot break them:
- one open review per initiative (partial unique index);
- one decision per sign-off (`state` moves off `pending` exactly once, guarded by a compare-and-set update);
- every stage change has its transition row (the initiative's stage and `stage_entered_at` are a foreign key
  onto the transition that put it there).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

JSONType = JSON().with_variant(JSONB(), "postgresql")


def _json_column(nullable: bool = True) -> Any:
    return Field(default=None, sa_type=JSONType, nullable=nullable)


def _at(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, **kwargs)


class Workspace(SQLModel, table=True):
    """A Slack workspace (team). Holds the counter behind `AI-<n>` keys."""

    team_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(default="", max_length=200)
    next_initiative_number: int = Field(default=1, nullable=False)
    created_at: datetime = _at()
    # Set when Slack said the app was uninstalled or its token revoked (`app_uninstalled`, `tokens_revoked`, or
    # `invalid_auth` / `account_inactive` / `token_revoked` from a call); cleared when `auth.test` succeeds again.
    # While set, nothing is sent to this workspace and its scheduled work waits (bot/delivery/installation.py).
    suspended_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    suspended_reason: str | None = Field(default=None, max_length=64)


class GateDefinitionVersion(SQLModel, table=True):
    """One immutable version of a workspace's stages, gates, roles, checklists and timing."""

    __tablename__ = "gate_definition_version"
    __table_args__ = (UniqueConstraint("team_id", "version", name="uq_gate_definition_version"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32, index=True)
    version: int = Field(nullable=False)
    definition: dict = Field(sa_type=JSONType, nullable=False)
    created_by: str = Field(max_length=32)
    created_at: datetime = _at()
    comment: str = Field(default="", max_length=500)


class Initiative(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_initiative_key"),
        CheckConstraint("risk_tier IN ('low', 'medium', 'high')", name="ck_initiative_risk_tier"),
        # paused: an owner's short stop; held: the sponsor's "not now", until a revisit date; killed: stopped for
        # good with a rationale (bot/services/outcomes); retired: an admin's close for merges and duplicates.
        CheckConstraint("status IN ('active', 'paused', 'held', 'retired', 'killed')", name="ck_initiative_status"),
        CheckConstraint(
            "(status = 'retired') = (retired_reason IS NOT NULL)", name="ck_initiative_retired_reason"
        ),
        # The stage can only change together with a transition row that records it. Deferred, because the
        # initiative and its first transition are inserted in the same transaction.
        ForeignKeyConstraint(
            ["current_transition_id", "stage", "stage_entered_at"],
            ["stage_transition.id", "stage_transition.to_stage", "stage_transition.at"],
            name="fk_initiative_current_transition",
            deferrable=True,
            initially="DEFERRED",
            use_alter=True,
        ),
        Index("ix_initiative_team_stage", "team_id", "status", "stage"),
        # The child side of that key: SQLite looks initiatives up by it whenever a transition is inserted.
        Index("ix_initiative_current_transition", "current_transition_id", "stage", "stage_entered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    number: int = Field(nullable=False)
    title: str = Field(max_length=150)
    description: str = Field(default="", sa_type=Text)
    problem: str = Field(default="", sa_type=Text)
    risk_tier: str = Field(default="medium", max_length=10)
    # The standing result of the classification questionnaire (bot/services/regulation); None: not classified.
    classified_tier: str | None = Field(default=None, max_length=16)
    status: str = Field(default="active", max_length=10)
    retired_reason: str | None = Field(default=None, max_length=500)
    stage: str = Field(max_length=64)
    stage_entered_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    current_transition_id: str = Field(sa_type=String(36), nullable=False)
    created_by: str = Field(max_length=32)
    created_at: datetime = _at()
    updated_at: datetime = _at()
    channel_id: str | None = Field(default=None, max_length=32)
    tags: list = Field(default_factory=list, sa_type=JSONType, nullable=False)
    business_unit: str = Field(default="", max_length=100)
    # Its MLflow registered model, whose age the integration checks read (bot/services/attestation).
    mlflow_model: str | None = Field(default=None, max_length=256)
    # Shown, with every fact about it, only to its owners, their delegates, and admins
    # (bot/services/access/visibility.py); counted but not named anywhere else.
    confidential: bool = Field(default=False, nullable=False, sa_column_kwargs={"server_default": false()})

    @property
    def key(self) -> str:
        return f"AI-{self.number}"


class OwnerAssignment(SQLModel, table=True):
    """Who holds which role on an initiative."""

    __tablename__ = "owner_assignment"
    __table_args__ = (UniqueConstraint("initiative_id", "role", name="uq_owner_role"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    initiative_id: int = Field(foreign_key="initiative.id", ondelete="CASCADE")
    role: str = Field(max_length=32)
    user_id: str = Field(max_length=32, index=True)
    assigned_by: str = Field(max_length=32)
    assigned_at: datetime = _at()


class GateReview(SQLModel, table=True):
    """One attempt of an initiative at a gate, pinned to the definition version it started under; or (kind
    `reattestation`) a stage's periodic re-attestation, reviewed as a gate from the stage to itself."""

    __tablename__ = "gate_review"
    __table_args__ = (
        CheckConstraint(
            "state IN ('open', 'passed', 'changes_requested', 'cancelled')", name="ck_gate_review_state"
        ),
        CheckConstraint("(state = 'open') = (closed_at IS NULL)", name="ck_gate_review_closed_at"),
        Index(
            "uq_gate_review_one_open",
            "initiative_id",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    gate_slug: str = Field(max_length=64)
    kind: str = Field(default="gate", max_length=20, sa_column_kwargs={"server_default": "gate"})
    from_stage: str = Field(max_length=64)
    to_stage: str = Field(max_length=64)
    definition_version: int = Field(nullable=False)
    sla_business_days: int = Field(nullable=False)
    state: str = Field(default="open", max_length=20)
    opened_by: str = Field(max_length=32)
    opened_at: datetime = _at()
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    close_reason: str | None = Field(default=None, max_length=500)
    # Set when the review passes: the date its deciders set for passing the next gate (the earliest they chose).
    next_target_on: date | None = Field(default=None)


class SignOff(SQLModel, table=True):
    """One role's sign-off on one review. Its decision is written once, by a compare-and-set update."""

    __tablename__ = "sign_off"
    __table_args__ = (
        UniqueConstraint("review_id", "role", name="uq_sign_off_role"),
        CheckConstraint(
            "state IN ('pending', 'approved', 'changes_requested', 'waived', 'cancelled')",
            name="ck_sign_off_state",
        ),
        CheckConstraint("(state = 'pending') = (decided_at IS NULL)", name="ck_sign_off_decided_at"),
        Index("ix_sign_off_pending_assignee", "team_id", "state", "assignee"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    review_id: int = Field(foreign_key="gate_review.id", index=True)
    role: str = Field(max_length=32)
    assignee: str = Field(max_length=32)
    state: str = Field(default="pending", max_length=20)
    requested_at: datetime = _at()
    decided_by: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    comment: str | None = Field(default=None, sa_type=Text)
    ticked: list = Field(default_factory=list, sa_type=JSONType, nullable=False)
    waivers: dict = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    evidence_links: list = Field(default_factory=list, sa_type=JSONType, nullable=False)
    target_on: date | None = Field(default=None)  # an approver's target date for the next gate
    # An approval's conditions ({text, owner, due_on}), which become tracked items if the gate passes.
    conditions: list = Field(default_factory=list, sa_type=JSONType, nullable=False,
                             sa_column_kwargs={"server_default": "[]"})


def new_transition_id() -> str:
    return str(uuid.uuid4())


class StageTransition(SQLModel, table=True):
    """Every change of stage: from, to, when and why, caused by a passed review or an audited admin action."""

    __tablename__ = "stage_transition"
    __table_args__ = (
        UniqueConstraint("id", "to_stage", "at", name="uq_stage_transition_target"),
        CheckConstraint(
            "review_id IS NOT NULL OR audit_event_id IS NOT NULL", name="ck_stage_transition_cause"
        ),
        Index("ix_stage_transition_team_at", "team_id", "at"),
    )

    id: str = Field(default_factory=new_transition_id, sa_type=String(36), primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    from_stage: str | None = Field(default=None, max_length=64)
    to_stage: str = Field(max_length=64)
    at: datetime = _at()
    reason: str = Field(default="", max_length=500)
    actor: str = Field(max_length=32)
    review_id: int | None = Field(default=None, foreign_key="gate_review.id")
    audit_event_id: int | None = Field(default=None, foreign_key="audit_event.id")


class AuditEvent(SQLModel, table=True):
    """Append-only record of every state change: who, what, on which subject, before and after.

    Hash-chained per workspace (see bot/services/audit/chain.py): `seq` numbers a workspace's events 1, 2, 3...
    and is unique, so two writers can never both append after the same event; `hash` is the SHA-256 of
    `prev_hash` plus the event's canonical form.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_team_at", "team_id", "at"),
        # The digest reads status changes (paused, retired, ...) by action.
        Index("ix_audit_event_team_action", "team_id", "action", "at"),
        Index("uq_audit_event_seq", "team_id", "seq", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    at: datetime = _at()
    actor: str = Field(max_length=32)
    action: str = Field(max_length=64)
    subject_type: str = Field(max_length=32)
    subject_key: str = Field(max_length=128)
    initiative_id: int | None = Field(default=None, foreign_key="initiative.id", index=True)
    definition_version: int | None = Field(default=None)
    before: dict | None = Field(default=None, sa_type=JSONType)
    after: dict | None = Field(default=None, sa_type=JSONType)
    seq: int = Field(nullable=False)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
