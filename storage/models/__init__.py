"""SQLModel tables. Every row is scoped by Slack workspace (`team_id`).

Importing this package registers every table on `SQLModel.metadata`, which Alembic targets.
"""

from storage.models.core import (
    AuditEvent,
    GateDefinitionVersion,
    GateReview,
    Initiative,
    OwnerAssignment,
    SignOff,
    StageTransition,
    Workspace,
)

__all__ = [
    "AuditEvent",
    "GateDefinitionVersion",
    "GateReview",
    "Initiative",
    "OwnerAssignment",
    "SignOff",
    "StageTransition",
    "Workspace",
]
