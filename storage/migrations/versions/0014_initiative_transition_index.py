"""initiative transition index: SQLite finds the initiative a new stage transition satisfies without a full scan

The initiative's stage is a deferred foreign key onto the transition that put it there. When a transition row is
inserted, SQLite looks for initiatives referencing it; without an index on those columns that is a scan of the
whole initiative table per transition, so an import of 10,000 initiatives took minutes (quadratic), and every
stage change grew with the portfolio. PostgreSQL checks the key from the initiative's side and needs no such index;
it gets one too, so both backends have the same schema.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not through batch mode: an index needs no rebuild of the table, which other tables reference.
    op.create_index("ix_initiative_current_transition", "initiative",
                    ["current_transition_id", "stage", "stage_entered_at"])


def downgrade() -> None:
    op.drop_index("ix_initiative_current_transition", table_name="initiative")
