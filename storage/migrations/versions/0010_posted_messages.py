"""posted messages: the bot's posted messages get their own table; the outbox becomes only a queue

Moves the message addresses that the outbox held into `slack_message`: each sign-off request DM
(`sign_off_message` -> the outbox row that posted it), each digest run's text (`digest_run.text_outbox_id`), and
any earlier post that a queued `chat.update` still waits for. Queued posts and updates are linked to their message,
so what the outbox holds at upgrade time is still delivered to the right message.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = sa.text('replaced_at IS NULL')

# The tables as this revision knows them (never the models, which describe only today's schema).
_outbox = sa.table('outbox_message', sa.column('id', sa.Integer()), sa.column('team_id', sa.String()),
                   sa.column('method', sa.String()), sa.column('state', sa.String()), sa.column('result', sa.JSON()),
                   sa.column('last_error', sa.Text()), sa.column('depends_on', sa.Integer()),
                   sa.column('sent_at', storage.types.UTCDateTime()), sa.column('message_id', sa.Integer()))
_message = sa.table('slack_message', sa.column('id', sa.Integer()), sa.column('team_id', sa.String()),
                    sa.column('kind', sa.String()), sa.column('subject', sa.String()), sa.column('state', sa.String()),
                    sa.column('channel', sa.String()), sa.column('ts', sa.String()), sa.column('error', sa.Text()),
                    sa.column('created_at', storage.types.UTCDateTime()),
                    sa.column('posted_at', storage.types.UTCDateTime()),
                    sa.column('replaced_at', storage.types.UTCDateTime()))
_sign_off_message = sa.table('sign_off_message', sa.column('team_id', sa.String()),
                             sa.column('sign_off_id', sa.Integer()), sa.column('outbox_message_id', sa.Integer()),
                             sa.column('user_id', sa.String()), sa.column('created_at', storage.types.UTCDateTime()))
_sign_off = sa.table('sign_off', sa.column('id', sa.Integer()), sa.column('assignee', sa.String()))
_digest_run = sa.table('digest_run', sa.column('id', sa.Integer()), sa.column('team_id', sa.String()),
                       sa.column('text_outbox_id', sa.Integer()), sa.column('message_id', sa.Integer()))


def upgrade() -> None:
    op.create_table('slack_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('shown_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('posted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('replaced_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'posted', 'failed')", name='ck_slack_message_state'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('slack_message', schema=None) as batch_op:
        batch_op.create_index('uq_slack_message_live', ['team_id', 'kind', 'subject'], unique=True,
                              sqlite_where=_LIVE, postgresql_where=_LIVE)
    # Plain ADD/DROP COLUMN, never batch mode: SQLite's batch mode rebuilds a table by dropping the old copy,
    # which the rows of other tables (and the outbox's own `depends_on`) reference.
    op.add_column('outbox_message', sa.Column('message_id', sa.Integer(), nullable=True))
    op.create_index('ix_outbox_message_message_id', 'outbox_message', ['message_id'], unique=False)
    op.add_column('digest_run', sa.Column('message_id', sa.Integer(), nullable=True))

    _move_addresses_out_of_the_outbox(op.get_bind())

    op.drop_column('digest_run', 'text_outbox_id')
    op.drop_table('sign_off_message')


def _move_addresses_out_of_the_outbox(connection: sa.Connection) -> None:
    now = datetime.now(UTC)
    live = connection.execute(sa.select(_sign_off_message.c.team_id, _sign_off_message.c.sign_off_id,
                                        _sign_off_message.c.outbox_message_id)).all()
    for team_id, sign_off_id, post_id in live:
        _register(connection, post_id, team_id=team_id, kind='sign_off_request', subject=str(sign_off_id), now=now)
    runs = connection.execute(sa.select(_digest_run.c.id, _digest_run.c.team_id, _digest_run.c.text_outbox_id)
                              .where(_digest_run.c.text_outbox_id.is_not(None))).all()
    for run_id, team_id, post_id in runs:
        message_id = _register(connection, post_id, team_id=team_id, kind='digest', subject=str(run_id), now=now)
        connection.execute(sa.update(_digest_run).where(_digest_run.c.id == run_id).values(message_id=message_id))
    # Earlier DMs of sign-offs since moved to someone else, whose "moved to" update may still be queued: kept as
    # replaced messages, so that the update still finds its address.
    earlier = (sa.select(_outbox.c.depends_on, _outbox.c.team_id).distinct()
               .where(_outbox.c.method == 'chat.update', _outbox.c.depends_on.is_not(None),
                      _outbox.c.message_id.is_(None)))
    for post_id, team_id in connection.execute(earlier).all():
        _register(connection, post_id, team_id=team_id, kind='sign_off_request', subject=f'post:{post_id}', now=now,
                  replaced_at=now)


def _register(connection: sa.Connection, post_id: int, *, team_id: str, kind: str, subject: str, now: datetime,
              replaced_at: datetime | None = None) -> int:
    """A message row for the outbox post `post_id`, as far as Slack has answered it; the post and every update
    waiting on it point at the row."""
    post = connection.execute(sa.select(_outbox).where(_outbox.c.id == post_id)).first()
    values: dict[str, Any] = {'team_id': team_id, 'kind': kind, 'subject': subject, 'state': 'pending',
                              'created_at': now, 'replaced_at': replaced_at}
    if post is not None and post.state == 'sent':
        result = post.result or {}
        values |= {'state': 'posted', 'channel': result.get('channel'), 'ts': result.get('ts'),
                   'posted_at': post.sent_at}
    elif post is not None and post.state == 'failed':
        values |= {'state': 'failed', 'error': post.last_error}
    message_id = connection.execute(sa.insert(_message).values(**values).returning(_message.c.id)).scalar_one()
    connection.execute(sa.update(_outbox).where(sa.or_(_outbox.c.id == post_id, _outbox.c.depends_on == post_id))
                       .values(message_id=message_id))
    return message_id


def downgrade() -> None:
    op.create_table('sign_off_message',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('team_id', sa.VARCHAR(length=32), nullable=False),
    sa.Column('sign_off_id', sa.INTEGER(), nullable=False),
    sa.Column('outbox_message_id', sa.INTEGER(), nullable=False),
    sa.Column('user_id', sa.VARCHAR(length=32), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_message.id'], ),
    sa.ForeignKeyConstraint(['sign_off_id'], ['sign_off.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['workspace.team_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sign_off_id', name='uq_sign_off_message_sign_off')
    )
    op.add_column('digest_run', sa.Column('text_outbox_id', sa.INTEGER(), nullable=True))

    _put_addresses_back_into_the_outbox(op.get_bind())

    op.drop_column('digest_run', 'message_id')
    op.drop_index('ix_outbox_message_message_id', table_name='outbox_message')
    op.drop_column('outbox_message', 'message_id')
    with op.batch_alter_table('slack_message', schema=None) as batch_op:
        batch_op.drop_index('uq_slack_message_live', sqlite_where=_LIVE, postgresql_where=_LIVE)
    op.drop_table('slack_message')


def _put_addresses_back_into_the_outbox(connection: sa.Connection) -> None:
    """The previous revision reads a message's address from the result of the outbox row that posted it."""
    now = datetime.now(UTC)
    posts = (sa.select(_message.c.id, _message.c.team_id, _message.c.kind, _message.c.subject, _outbox.c.id)
             .join(_outbox, sa.and_(_outbox.c.message_id == _message.c.id, _outbox.c.method == 'chat.postMessage'))
             .where(_message.c.replaced_at.is_(None)))
    for message_id, team_id, kind, subject, post_id in connection.execute(posts).all():
        if kind == 'sign_off_request':
            assignee = connection.execute(sa.select(_sign_off.c.assignee)
                                          .where(_sign_off.c.id == int(subject))).scalar_one()
            connection.execute(sa.insert(_sign_off_message).values(
                team_id=team_id, sign_off_id=int(subject), outbox_message_id=post_id, user_id=assignee,
                created_at=now))
        elif kind == 'digest':
            connection.execute(sa.update(_digest_run).where(_digest_run.c.message_id == message_id)
                               .values(text_outbox_id=post_id))
