"""enterprise: confidential initiatives, and a workspace whose app was uninstalled or whose token was revoked waits for a reinstall

`workspace.suspended_at` / `suspended_reason`: set on `app_uninstalled`, `tokens_revoked`, or an `invalid_auth`,
`account_inactive` or `token_revoked` answer; cleared when `auth.test` succeeds again. Nullable columns without a
foreign key, so SQLite adds them without rebuilding the table; existing workspaces are installed (NULL).
`initiative.confidential`: shown only to its owners, their delegates and admins; existing initiatives are not.
`user_profile.deactivated_at`: Slack said the person's account was deactivated.
`webhook_endpoint.skip_confidential`: a receiver that gets no event about a confidential initiative.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing initiatives stay visible to everyone in their workspace.
    op.add_column("initiative", sa.Column("confidential", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("user_profile", sa.Column("deactivated_at", storage.types.UTCDateTime(timezone=True), nullable=True))
    op.add_column("webhook_endpoint",
                  sa.Column("skip_confidential", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("workspace", sa.Column("suspended_at", storage.types.UTCDateTime(timezone=True), nullable=True))
    op.add_column("workspace", sa.Column("suspended_reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN on both (SQLite 3.35+): batch mode's rebuild would drop tables that the rows of
    # other tables reference (initiative, workspace, webhook_endpoint).
    for table, column in (("user_profile", "deactivated_at"), ("webhook_endpoint", "skip_confidential"),
                          ("initiative", "confidential"), ("workspace", "suspended_reason"),
                          ("workspace", "suspended_at")):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
