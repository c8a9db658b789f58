"""outcomes: hold, recycle and kill; the statuses `held` and `killed`; one revisit prompt per hold and date

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS_CHECK = "ck_initiative_status"
OLD_STATUSES = "status IN ('active', 'paused', 'retired')"
NEW_STATUSES = "status IN ('active', 'paused', 'held', 'retired', 'killed')"
OPEN_HOLD = "kind = 'hold' AND ended_at IS NULL"


def upgrade() -> None:
    _replace_status_check(OLD_STATUSES, NEW_STATUSES)
    op.create_table(
        "initiative_outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("to_stage", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("lessons", sa.Text(), nullable=False),
        sa.Column("revisit_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("decided_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.CheckConstraint("(kind = 'hold') = (revisit_on IS NOT NULL)", name="ck_initiative_outcome_revisit"),
        sa.CheckConstraint("(kind = 'recycle') = (to_stage IS NOT NULL)", name="ck_initiative_outcome_to_stage"),
        sa.CheckConstraint("kind IN ('hold', 'recycle', 'kill')", name="ck_initiative_outcome_kind"),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiative.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_initiative_outcome_initiative_id", "initiative_outcome", ["initiative_id"], unique=False)
    op.create_index("ix_initiative_outcome_team_kind", "initiative_outcome", ["team_id", "kind", "decided_at"],
                    unique=False)
    op.create_index("uq_initiative_outcome_open_hold", "initiative_outcome", ["initiative_id"], unique=True,
                    sqlite_where=sa.text(OPEN_HOLD), postgresql_where=sa.text(OPEN_HOLD))
    op.create_table(
        "hold_revisit_prompt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("outcome_id", sa.Integer(), nullable=False),
        sa.Column("revisit_on", sa.Date(), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["outcome_id"], ["initiative_outcome.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["workspace.team_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outcome_id", "revisit_on", name="uq_hold_revisit_prompt"),
    )


def downgrade() -> None:
    # The previous version knows no hold and no kill: a held initiative becomes paused, a killed one retired with
    # its rationale, so that every row fits the old constraint. The decisions themselves stay in the audit trail.
    outcome = sa.table("initiative_outcome", sa.column("initiative_id"), sa.column("kind"), sa.column("reason"),
                       sa.column("id"))
    initiative = sa.table("initiative", sa.column("id"), sa.column("status"), sa.column("retired_reason"))
    rationale = (sa.select(sa.func.substr(outcome.c.reason, 1, 500))
                 .where(outcome.c.initiative_id == initiative.c.id, outcome.c.kind == "kill")
                 .order_by(outcome.c.id.desc()).limit(1).scalar_subquery())
    op.execute(initiative.update().where(initiative.c.status == "killed")
               .values(status="retired", retired_reason=sa.func.coalesce(rationale, "killed")))
    op.execute(initiative.update().where(initiative.c.status == "held").values(status="paused"))
    op.drop_table("hold_revisit_prompt")
    op.drop_index("uq_initiative_outcome_open_hold", table_name="initiative_outcome",
                  sqlite_where=sa.text(OPEN_HOLD), postgresql_where=sa.text(OPEN_HOLD))
    op.drop_index("ix_initiative_outcome_team_kind", table_name="initiative_outcome")
    op.drop_index("ix_initiative_outcome_initiative_id", table_name="initiative_outcome")
    op.drop_table("initiative_outcome")
    _replace_status_check(NEW_STATUSES, OLD_STATUSES)


def _replace_status_check(old: str, new: str) -> None:
    """Swap the initiative's status CHECK, keeping every row where it is.

    SQLite cannot alter a constraint, and batch mode's rebuild would drop `initiative`, which the rows of a
    dozen tables reference. Changing a CHECK does not change how rows are stored, so SQLite's documented way for
    such a change is used instead: rewrite the table's SQL in the schema table and bump the schema version
    (https://www.sqlite.org/lang_altertable.html, "otheralter"). Existing rows satisfy the new check, as only a
    widening is applied on the way up and the downgrade first maps the new statuses to old ones."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.drop_constraint(STATUS_CHECK, "initiative", type_="check")
        op.create_check_constraint(STATUS_CHECK, "initiative", new)
        return
    table_sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'initiative'")
    if f"CHECK ({old})" not in table_sql.scalar_one():
        raise RuntimeError(f"initiative's status check is not CHECK ({old}); nothing was changed")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'initiative'",
        (f"CHECK ({old})", f"CHECK ({new})"),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")
