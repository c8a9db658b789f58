"""SQLModel tables. Every row is scoped by Slack workspace (`team_id`), except `commit_deadline`'s, which live only
inside a transaction.

Importing this package registers every table on `SQLModel.metadata`, which Alembic targets.
"""

from storage.models.attestation import InitiativeFlag, ModelCheck
from storage.models.audit import AuditIdentity
from storage.models.commit_deadline import CommitDeadline
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
from storage.models.digest import Digest, DigestRun, DigestRunStep
from storage.models.gate_admin import AppAdmin
from storage.models.integrations import AutomaticCheck, EvidenceCheck, WebhookDelivery, WebhookEndpoint
from storage.models.kpis import Kpi, KpiActual, KpiReminder
from storage.models.messages import SlackMessage
from storage.models.nudges import Delegation, NudgeLog, NudgeSnooze, UserProfile
from storage.models.operations import AuditVerification, MaintenanceRun
from storage.models.outbox import OutboxMessage, SlackRateLimit
from storage.models.outcomes import HoldRevisitPrompt, InitiativeOutcome
from storage.models.regulation import InitiativeClassification, RegulationDocument
from storage.models.slack_events import SlackEventReceipt
from storage.models.tracked_items import TrackedItem
from storage.models.waivers import ChecklistWaiver

__all__ = [
    "AppAdmin",
    "AuditEvent",
    "AuditIdentity",
    "AuditVerification",
    "AutomaticCheck",
    "ChecklistWaiver",
    "CommitDeadline",
    "Delegation",
    "Digest",
    "DigestRun",
    "DigestRunStep",
    "EvidenceCheck",
    "GateDefinitionVersion",
    "GateReview",
    "HoldRevisitPrompt",
    "Initiative",
    "InitiativeClassification",
    "InitiativeFlag",
    "InitiativeOutcome",
    "Kpi",
    "KpiActual",
    "KpiReminder",
    "MaintenanceRun",
    "ModelCheck",
    "NudgeLog",
    "NudgeSnooze",
    "OutboxMessage",
    "OwnerAssignment",
    "RegulationDocument",
    "SignOff",
    "SlackEventReceipt",
    "SlackMessage",
    "SlackRateLimit",
    "StageTransition",
    "TrackedItem",
    "UserProfile",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Workspace",
]
