"""Regulation (bot/services/regulation): the admin-owned questionnaire, one immutable row per version, and each
initiative's classifications, kept for good (the newest is the standing one)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.core import JSONType
from storage.types import UTCDateTime, utcnow

DERIVED_TIERS = ("prohibited", "high", "limited", "minimal", "needs-review")


class RegulationDocument(SQLModel, table=True):
    """One version of an admin-owned regulation file of a workspace: the classification questionnaire, or the
    controls catalog."""

    __tablename__ = "regulation_document"
    __table_args__ = (
        UniqueConstraint("team_id", "kind", "version", name="uq_regulation_document_version"),
        CheckConstraint("kind IN ('questionnaire', 'controls')", name="ck_regulation_document_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    kind: str = Field(max_length=20)
    version: int = Field(nullable=False)
    document: dict = Field(sa_type=JSONType, nullable=False)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    comment: str = Field(default="", max_length=500)


class InitiativeClassification(SQLModel, table=True):
    """A questionnaire's result for an initiative (with the answers and the rationale), or a compliance owner's
    override of the risk tier it set (with the reason)."""

    __tablename__ = "initiative_classification"
    __table_args__ = (
        CheckConstraint("kind IN ('questionnaire', 'override')", name="ck_initiative_classification_kind"),
        CheckConstraint("derived_tier IN ('prohibited', 'high', 'limited', 'minimal', 'needs-review')",
                        name="ck_initiative_classification_tier"),
        CheckConstraint("(kind = 'override') = (reason <> '')", name="ck_initiative_classification_reason"),
        Index("ix_initiative_classification_initiative", "initiative_id", "decided_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    initiative_id: int = Field(foreign_key="initiative.id")
    kind: str = Field(max_length=16)
    questionnaire_version: int = Field(nullable=False)
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    derived_tier: str = Field(max_length=16)
    risk_tier: str | None = Field(default=None, max_length=10)  # what it set; None: left as it was
    rationale: list[Any] = Field(default_factory=list, sa_type=JSONType, nullable=False)
    reason: str = Field(default="", sa_type=Text)  # an override's
    decided_by: str = Field(max_length=32)
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
