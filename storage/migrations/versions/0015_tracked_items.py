"""tracked items: a Conditional Go's conditions and expired waivers (`KEY-C1`, `KEY-W1`), the nudge log's
record of which of them each reminder listed, and the conditions an approval writes on its sign-off

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tracked_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("gate_slug", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("sign_off_id", sa.Integer(), nullable=True),
        sa.Column("checklist_item", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("closed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("evidence_links", JSON, nullable=False),
        sa.Column("close_reason", sa.Text(), nullable=False),
        sa.Column("overdue_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("(state = 'open') = (closed_at IS NULL)", name="ck_tracked_item_closed_at"),
        sa.CheckConstraint("kind IN ('condition', 'waiver')", name="ck_tracked_item_kind"),
        sa.CheckConstraint("state IN ('open', 'met', 'cancelled')", name="ck_tracked_item_state"),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"]),
        sa.ForeignKeyConstraint(["review_id"], ["gate_review.id"]),
        sa.ForeignKeyConstraint(["sign_off_id"], ["sign_off.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("initiative_id", "kind", "number", name="uq_tracked_item_number"),
    )
    op.create_index("ix_tracked_item_initiative_id", "tracked_item", ["initiative_id"], unique=False)
    op.create_index("ix_tracked_item_open_owner", "tracked_item", ["team_id", "state", "owner"], unique=False)
    op.create_index("ix_tracked_item_team_closed", "tracked_item", ["team_id", "closed_at"], unique=False)
    # Existing reminders listed sign-offs only: an empty list each (a plain ADD COLUMN with a default, no rebuild).
    op.add_column("nudge_log", sa.Column("item_ids", JSON, server_default="[]", nullable=False))
    op.add_column("nudge_log", sa.Column("reminded_item_ids", JSON, server_default="[]", nullable=False))
    # An approval's conditions, kept on its sign-off until the gate passes; none on every earlier decision.
    op.add_column("sign_off", sa.Column("conditions", JSON, server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("nudge_log") as batch_op:
        batch_op.drop_column("reminded_item_ids")
        batch_op.drop_column("item_ids")
    op.drop_index("ix_tracked_item_team_closed", table_name="tracked_item")
    op.drop_index("ix_tracked_item_open_owner", table_name="tracked_item")
    op.drop_index("ix_tracked_item_initiative_id", table_name="tracked_item")
    op.drop_table("tracked_item")
    with op.batch_alter_table("sign_off") as batch_op:
        batch_op.drop_column("conditions")
