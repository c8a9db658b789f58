"""commit deadline: PostgreSQL refuses a listener transaction's COMMIT that arrives after its deadline

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Deferred, so it runs at COMMIT, after the constraints deferred before it (the row is inserted last). The row
# has done its work then: deleting it keeps the table empty.
CHECK_FUNCTION = """
CREATE FUNCTION commit_deadline_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM commit_deadline WHERE id = NEW.id;
    IF clock_timestamp() > NEW.deadline THEN
        RAISE EXCEPTION 'COMMIT arrived % after the transaction''s deadline; nothing was committed',
            clock_timestamp() - NEW.deadline
            USING ERRCODE = 'query_canceled';
    END IF;
    RETURN NULL;
END
$$
"""
CHECK_TRIGGER = """
CREATE CONSTRAINT TRIGGER commit_deadline_check AFTER INSERT ON commit_deadline
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION commit_deadline_check()
"""


def upgrade() -> None:
    op.create_table(
        "commit_deadline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deadline", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    if op.get_bind().dialect.name == "postgresql":  # SQLite's write lock is local: nothing arrives late there
        op.execute(CHECK_FUNCTION)
        op.execute(CHECK_TRIGGER)


def downgrade() -> None:
    op.drop_table("commit_deadline")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION commit_deadline_check()")
