"""attestation: re-attestation reviews (gate_review.kind), an initiative's MLflow model, flags, model checks

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_FLAG = "cleared_at IS NULL"


def upgrade() -> None:
    # Every existing review is a gate review; SQLite adds a NOT NULL column with its default without a rebuild.
    op.add_column("gate_review", sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False,
                                           server_default="gate"))
    op.add_column("initiative", sa.Column("mlflow_model", sqlmodel.sql.sqltypes.AutoString(length=256),
                                          nullable=True))
    op.create_table(
        "initiative_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raised_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("raised_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cleared_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("cleared_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('at_risk', 'stale_model')", name="ck_initiative_flag_kind"),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_initiative_flag_initiative_id", "initiative_flag", ["initiative_id"], unique=False)
    op.create_index("ix_initiative_flag_team_open", "initiative_flag", ["team_id", "cleared_at"], unique=False)
    op.create_index("uq_initiative_flag_open", "initiative_flag", ["initiative_id", "kind"], unique=True,
                    sqlite_where=sa.text(OPEN_FLAG), postgresql_where=sa.text(OPEN_FLAG))
    op.create_table(
        "model_check",
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("model_name", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("version_created_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("evidence", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("checked_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('fresh', 'stale', 'unknown')", name="ck_model_check_state"),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"]),
        sa.PrimaryKeyConstraint("initiative_id"),
    )


def downgrade() -> None:
    # Re-attestation reviews mean nothing to the previous version: they go, with their sign-offs (the audit trail
    # keeps what was answered).
    op.execute("DELETE FROM automatic_check WHERE review_id IN (SELECT id FROM gate_review WHERE kind <> 'gate')")
    op.execute("DELETE FROM sign_off WHERE review_id IN (SELECT id FROM gate_review WHERE kind <> 'gate')")
    op.execute("DELETE FROM gate_review WHERE kind <> 'gate'")
    op.drop_table("model_check")
    op.drop_index("uq_initiative_flag_open", table_name="initiative_flag",
                  sqlite_where=sa.text(OPEN_FLAG), postgresql_where=sa.text(OPEN_FLAG))
    op.drop_index("ix_initiative_flag_team_open", table_name="initiative_flag")
    op.drop_index("ix_initiative_flag_initiative_id", table_name="initiative_flag")
    op.drop_table("initiative_flag")
    # ALTER TABLE ... DROP COLUMN on both (SQLite 3.35+): batch mode's rebuild would drop `initiative` and
    # `gate_review`, which the rows of other tables reference.
    op.execute("ALTER TABLE initiative DROP COLUMN mlflow_model")
    op.execute("ALTER TABLE gate_review DROP COLUMN kind")
