"""digest retries: a run whose text Slack refused is tried again (on the next tick, then less and less often)
until its week ends, so a digest fixed mid-week still posts that week

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain columns, no batch rebuild: digest_run_step rows reference this table (docs/architecture.md).
    op.add_column('digest_run', sa.Column('text_attempts', sa.Integer(), server_default='1', nullable=False))
    op.add_column('digest_run', sa.Column('retry_at', storage.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column('digest_run', 'retry_at')
    op.drop_column('digest_run', 'text_attempts')
