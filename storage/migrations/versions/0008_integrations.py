"""integrations

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _at() -> storage.types.UTCDateTime:
    return storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _string(32), nullable=False),
        sa.Column("url", _string(2000), nullable=False),
        sa.Column("secret", _string(100), nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("disabled_at", _at(), nullable=True),
        sa.Column("created_by", _string(64), nullable=False),
        sa.Column("created_at", _at(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "url", name="uq_webhook_endpoint_url"),
    )
    op.create_index("ix_webhook_endpoint_team_id", "webhook_endpoint", ["team_id"], unique=False)
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _string(32), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("message_id", _string(40), nullable=False),
        sa.Column("event_type", _string(40), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("state", _string(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _at(), nullable=False),
        sa.Column("claim_token", _string(36), nullable=True),
        sa.Column("claimed_until", _at(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _at(), nullable=False),
        sa.Column("finished_at", _at(), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'sent', 'failed')", name="ck_webhook_delivery_state"),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoint.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", name="uq_webhook_delivery_message_id"),
    )
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["state", "next_attempt_at"], unique=False)
    op.create_index("ix_webhook_delivery_endpoint_id", "webhook_delivery", ["endpoint_id"], unique=False)
    op.create_table(
        "evidence_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _string(32), nullable=False),
        sa.Column("url", _string(500), nullable=False),
        sa.Column("state", _string(10), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("detail", _string(300), nullable=True),
        sa.Column("checked_at", _at(), nullable=True),
        sa.Column("due_at", _at(), nullable=False),
        sa.CheckConstraint("state IN ('unchecked', 'ok', 'broken', 'blocked')", name="ck_evidence_check_state"),
        sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "url", name="uq_evidence_check_url"),
    )
    op.create_index("ix_evidence_check_due", "evidence_check", ["due_at"], unique=False)
    op.create_table(
        "automatic_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _string(32), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("role", _string(32), nullable=False),
        sa.Column("item_id", _string(32), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("outcome", _string(10), nullable=False),
        sa.Column("evidence", _string(500), nullable=True),
        sa.Column("checked_at", _at(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('pending', 'passed', 'failed', 'unknown')", name="ck_automatic_check_outcome"
        ),
        sa.ForeignKeyConstraint(["review_id"], ["gate_review.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("review_id", "role", "item_id", name="uq_automatic_check_item"),
    )
    op.create_index("ix_automatic_check_outcome", "automatic_check", ["outcome"], unique=False)
    op.create_index("ix_automatic_check_review_id", "automatic_check", ["review_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_automatic_check_review_id", table_name="automatic_check")
    op.drop_index("ix_automatic_check_outcome", table_name="automatic_check")
    op.drop_table("automatic_check")
    op.drop_index("ix_evidence_check_due", table_name="evidence_check")
    op.drop_table("evidence_check")
    op.drop_index("ix_webhook_delivery_endpoint_id", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_due", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index("ix_webhook_endpoint_team_id", table_name="webhook_endpoint")
    op.drop_table("webhook_endpoint")
