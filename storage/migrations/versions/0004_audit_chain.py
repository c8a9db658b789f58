"""audit chain

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from bot.services.audit.service import seal_existing_events

    op.create_table('audit_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('display_names', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('pseudonymised_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['workspace.team_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id', 'ref', name='uq_audit_identity_ref'),
    sa.UniqueConstraint('team_id', 'user_id', name='uq_audit_identity_user')
    )
    # Added with placeholder defaults (SQLite adds a NOT NULL column in place only with a default; rebuilding
    # audit_event instead would trip stage_transition's foreign key), filled below, then the defaults dropped
    # where the database can (PostgreSQL; SQLite keeps them, unused: record_audit always sets all three).
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False,
                                      server_default=''))
    seal_existing_events(op.get_bind())
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('uq_audit_event_seq', ['team_id', 'seq'], unique=True)
    if op.get_bind().dialect.name == 'postgresql':
        for column in ('seq', 'prev_hash', 'hash'):
            op.alter_column('audit_event', column, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('uq_audit_event_seq')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
    op.drop_table('audit_identity')
