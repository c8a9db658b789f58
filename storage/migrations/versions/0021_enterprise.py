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
    with op.batch_alter_table("user_profile") as batch:
        batch.drop_column("deactivated_at")
    with op.batch_alter_table("webhook_endpoint") as batch:
        batch.drop_column("skip_confidential")
    with op.batch_alter_table("initiative") as batch:
        batch.drop_column("confidential")
    with op.batch_alter_table("workspace") as batch:
        batch.drop_column("suspended_reason")
        batch.drop_column("suspended_at")
