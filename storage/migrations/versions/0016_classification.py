"""classification: the admin-owned questionnaire's and controls catalog's versions, each initiative's classifications, and the standing
derived tier on the initiative (None: not classified yet; existing initiatives keep their risk tier until they are)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "regulation_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.CheckConstraint("kind IN ('questionnaire', 'controls')", name="ck_regulation_document_kind"),
        sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "kind", "version", name="uq_regulation_document_version"),
    )
    op.create_table(
        "initiative_classification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("questionnaire_version", sa.Integer(), nullable=False),
        sa.Column("answers", JSON, nullable=False),
        sa.Column("derived_tier", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("risk_tier", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("rationale", JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("decided_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('questionnaire', 'override')", name="ck_initiative_classification_kind"),
        sa.CheckConstraint("derived_tier IN ('prohibited', 'high', 'limited', 'minimal', 'needs-review')",
                           name="ck_initiative_classification_tier"),
        sa.CheckConstraint("(kind = 'override') = (reason <> '')", name="ck_initiative_classification_reason"),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_initiative_classification_initiative", "initiative_classification",
                    ["initiative_id", "decided_at"])
    # A nullable column without a default: SQLite adds it in place, with no rebuild of a table others reference.
    op.add_column("initiative", sa.Column("classified_tier", sqlmodel.sql.sqltypes.AutoString(length=16),
                                          nullable=True))


def downgrade() -> None:
    # Not batch mode, whose rebuild would drop `initiative`: both backends (SQLite since 3.35) drop a column in place.
    op.execute("ALTER TABLE initiative DROP COLUMN classified_tier")
    op.drop_index("ix_initiative_classification_initiative", table_name="initiative_classification")
    op.drop_table("initiative_classification")
    op.drop_table("regulation_document")
