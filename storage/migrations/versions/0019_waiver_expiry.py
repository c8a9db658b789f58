"""waiver expiry: one row per waived checklist item with its expiry date; target dates for the next gate

Every waived item gets a row in `checklist_waiver`, with its reason and the date its waiver expires. Waivers given
before this migration had no expiry: each gets one computed from its decision time, 30 business days (the default
`waiver_days`; no gate file could set another before this version) after the local date of the decision in UTC,
counting Monday to Friday only (the workspace's holidays are not known here). A waiver older than that is
therefore expired at the jobs' first run after the upgrade and becomes a tracked item: the deciders' earlier
"waived" stays in the sign-off and the audit trail as it was.

`sign_off.target_on` keeps an approver's target date for the next gate, and `gate_review.next_target_on` the
date a passed review set (none for reviews passed before this migration).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILLED_WAIVER_DAYS = 30


def upgrade() -> None:
    op.create_table(
        "checklist_waiver",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("sign_off_id", sa.Integer(), nullable=False),
        sa.Column("gate_slug", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("item_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("waived_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("waived_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("warned_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expired_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"]),
        sa.ForeignKeyConstraint(["sign_off_id"], ["sign_off.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sign_off_id", "item_id", name="uq_checklist_waiver_item"),
    )
    op.create_index("ix_checklist_waiver_initiative_id", "checklist_waiver", ["initiative_id"], unique=False)
    op.create_index("ix_checklist_waiver_due", "checklist_waiver", ["team_id", "expires_on"], unique=False)
    # Plain ADD COLUMN (nullable, no default): no batch rebuild of tables that others reference.
    op.add_column("sign_off", sa.Column("target_on", sa.Date(), nullable=True))
    op.add_column("gate_review", sa.Column("next_target_on", sa.Date(), nullable=True))
    _backfill_waivers()


def downgrade() -> None:
    op.drop_column("gate_review", "next_target_on")
    op.drop_column("sign_off", "target_on")
    op.drop_index("ix_checklist_waiver_due", table_name="checklist_waiver")
    op.drop_index("ix_checklist_waiver_initiative_id", table_name="checklist_waiver")
    op.drop_table("checklist_waiver")


def _backfill_waivers() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT s.id, s.team_id, s.role, s.decided_by, s.decided_at, s.waivers, r.initiative_id, r.gate_slug "
        "FROM sign_off s JOIN gate_review r ON r.id = s.review_id WHERE s.state = 'approved' ORDER BY s.id"
    )).all()
    waiver = sa.table("checklist_waiver", *(sa.column(name) for name in (
        "team_id", "initiative_id", "sign_off_id", "gate_slug", "role", "item_id", "reason", "waived_by",
        "waived_at", "expires_on")))
    added = []
    for sign_off_id, team_id, role, decided_by, decided_at, waivers, initiative_id, gate_slug in rows:
        reasons = json.loads(waivers) if isinstance(waivers, str) else (waivers or {})
        if not reasons:
            continue
        waived_at = _instant(decided_at)
        expires_on = _business_days_after(waived_at.date(), BACKFILLED_WAIVER_DAYS)
        added += [{"team_id": team_id, "initiative_id": initiative_id, "sign_off_id": sign_off_id,
                   "gate_slug": gate_slug, "role": role, "item_id": item_id, "reason": reason,
                   "waived_by": decided_by, "waived_at": waived_at, "expires_on": expires_on}
                  for item_id, reason in reasons.items()]
    if added:
        op.bulk_insert(waiver, added)


def _instant(value: datetime | str) -> datetime:
    """A stored UTC time as an aware datetime (SQLite returns it as naive text)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _business_days_after(day: date, days: int) -> date:
    while days:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day
