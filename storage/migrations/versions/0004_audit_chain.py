"""audit chain

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import hashlib
import json
import re
import secrets
from collections.abc import Sequence
from datetime import UTC
from typing import Any

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
    _seal_existing_events(op.get_bind())
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('uq_audit_event_seq', ['team_id', 'seq'], unique=True)
    if op.get_bind().dialect.name == 'postgresql':
        for column in ('seq', 'prev_hash', 'hash'):
            op.alter_column('audit_event', column, server_default=None)


# ---- the chain as of this revision ----------------------------------------------------------------------------
# Frozen here, not imported from bot/: a migration must keep doing what it did when it was written, whatever the
# application's code becomes. This is format 1 of bot/services/audit/chain.py by its definition; today's
# `audit verify` must still accept what it writes (tests/storage/test_migration_0004.py).

_GENESIS = "0" * 64
_CANONICAL_FORMAT = 1
_PERSON_TOKEN = re.compile(r"(?<![A-Za-z0-9])[UW][A-Z0-9]{2,30}(?![A-Za-z0-9])")

_event = sa.table(
    "audit_event", sa.column("id", sa.Integer()), sa.column("team_id", sa.String()),
    sa.column("at", storage.types.UTCDateTime()), sa.column("actor", sa.String()), sa.column("action", sa.String()),
    sa.column("subject_type", sa.String()), sa.column("subject_key", sa.String()),
    sa.column("initiative_id", sa.Integer()), sa.column("definition_version", sa.Integer()),
    sa.column("before", sa.JSON()), sa.column("after", sa.JSON()), sa.column("seq", sa.Integer()),
    sa.column("prev_hash", sa.String()), sa.column("hash", sa.String()),
)
_identity = sa.table(
    "audit_identity", sa.column("team_id", sa.String()), sa.column("user_id", sa.String()),
    sa.column("ref", sa.String()), sa.column("display_names", sa.JSON()),
)


def _replace_people(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PERSON_TOKEN.sub(lambda m: replacements.get(m.group(), m.group()), value)
    if isinstance(value, dict):
        return {_replace_people(k, replacements): _replace_people(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_people(item, replacements) for item in value]
    return value


def _person_tokens(values: list[Any]) -> set[str]:
    found: set[str] = set()
    pending = list(values)
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            found.update(_PERSON_TOKEN.findall(value))
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return found


def _refs_for(connection: sa.Connection, team_id: str, user_ids: set[str]) -> dict[str, str]:
    """Each person's opaque ref, creating it on first sight (nothing else writes while a migration runs)."""
    rows = connection.execute(sa.select(_identity.c.user_id, _identity.c.ref).where(_identity.c.team_id == team_id))
    refs = {user_id: ref for user_id, ref in rows if user_id in user_ids}
    for user_id in sorted(user_ids - refs.keys()):
        refs[user_id] = secrets.token_hex(8).upper()
        connection.execute(sa.insert(_identity).values(team_id=team_id, user_id=user_id, ref=refs[user_id],
                                                       display_names=[]))
    return refs


def _seal_existing_events(connection: sa.Connection) -> None:
    """Chain the events written before the chain existed, per workspace in id order."""
    teams = connection.execute(sa.select(_event.c.team_id).distinct()).scalars().all()
    for team_id in teams:
        prev_hash = _GENESIS
        rows = connection.execute(sa.select(_event).where(_event.c.team_id == team_id).order_by(_event.c.id)).all()
        for seq, row in enumerate(rows, start=1):
            elements = [_CANONICAL_FORMAT, team_id, seq, row.at.astimezone(UTC).isoformat(timespec="microseconds"),
                        row.actor, row.action, row.subject_type, row.subject_key, row.initiative_id,
                        row.definition_version, row.before, row.after]
            refs = _refs_for(connection, team_id, _person_tokens(elements))
            people = {user_id: f"person:{ref}" for user_id, ref in refs.items()}
            canonical = json.dumps(_replace_people(elements, people), sort_keys=True, separators=(",", ":"),
                                   ensure_ascii=False)
            digest = hashlib.sha256((prev_hash + canonical).encode()).hexdigest()
            connection.execute(sa.update(_event).where(_event.c.id == row.id)
                               .values(seq=seq, prev_hash=prev_hash, hash=digest))
            prev_hash = digest


def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('uq_audit_event_seq')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
    op.drop_table('audit_identity')
