"""prune indexes: the columns by which `initiative-bot prune` and the daily prune job find old rows

Without them each batch of a prune reads the whole table (sent outbox messages, webhook deliveries, nudge logs and
digest runs only grow until pruned), under the batch's row locks. Sent messages and finished deliveries are found
by state and age together: in a busy workspace nearly every row is sent. Event receipts have had theirs since
0001.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_outbox_message_state_sent_at", "outbox_message", ["state", "sent_at"]),
    ("ix_webhook_delivery_state_finished_at", "webhook_delivery", ["state", "finished_at"]),
    ("ix_nudge_log_created_at", "nudge_log", ["created_at"]),
    ("ix_digest_run_finished_at", "digest_run", ["finished_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
