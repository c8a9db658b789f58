"""Nudges: people's time zones, the log of nudges and escalations sent, snoozes and delegations."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.core import JSONType
from storage.types import UTCDateTime, utcnow


class UserProfile(SQLModel, table=True):
    """A person's Slack time zone, as last read from users.info or a `user_change` event."""

    __tablename__ = "user_profile"

    team_id: str = Field(foreign_key="workspace.team_id", max_length=32, primary_key=True)
    user_id: str = Field(max_length=32, primary_key=True)
    tz: str | None = Field(default=None, max_length=64)
    refreshed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # Slack said the account was deactivated (users.info or user_change `deleted`): no more nudges to them; their
    # pending sign-offs wait for the sponsor or an admin to reassign them.
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class NudgeLog(SQLModel, table=True):
    """One nudge or escalation DM, decided by a sweep. The unique constraint is the last guard against a second
    replica sending a person a second one on the same local day."""

    __tablename__ = "nudge_log"
    __table_args__ = (
        UniqueConstraint("team_id", "recipient", "local_date", "kind", name="uq_nudge_log_daily"),
        CheckConstraint("kind IN ('nudge', 'escalation')", name="ck_nudge_log_kind"),
        Index("ix_nudge_log_team_date", "team_id", "local_date"),
        Index("ix_nudge_log_outbox", "outbox_id"),
        Index("ix_nudge_log_created_at", "created_at"),  # what a prune finds
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    recipient: str = Field(max_length=32)
    local_date: date = Field(nullable=False)
    kind: str = Field(max_length=16)
    # Every sign-off the DM lists (for cancelling on action), and those whose reminder cadence it restarts.
    sign_off_ids: list = Field(default_factory=list, sa_type=JSONType, nullable=False)
    reminded_ids: list = Field(default_factory=list, sa_type=JSONType, nullable=False)
    # The same for tracked items (conditions, expired waivers): one DM a day covers both.
    item_ids: list = Field(default_factory=list, sa_type=JSONType, nullable=False,
                           sa_column_kwargs={"server_default": "[]"})
    reminded_item_ids: list = Field(default_factory=list, sa_type=JSONType, nullable=False,
                                    sa_column_kwargs={"server_default": "[]"})
    outbox_id: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class NudgeSnooze(SQLModel, table=True):
    """No nudges for this person until `until`; the next sweep after it reminds them."""

    __tablename__ = "nudge_snooze"

    team_id: str = Field(foreign_key="workspace.team_id", max_length=32, primary_key=True)
    user_id: str = Field(max_length=32, primary_key=True)
    until: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Delegation(SQLModel, table=True):
    """While it lasts, `delegate` may decide the owner's sign-offs and receives their nudges instead."""

    __tablename__ = "delegation"
    __table_args__ = (CheckConstraint("owner <> delegate", name="ck_delegation_not_self"),)

    team_id: str = Field(foreign_key="workspace.team_id", max_length=32, primary_key=True)
    owner: str = Field(max_length=32, primary_key=True)
    delegate: str = Field(max_length=32)
    until_date: date = Field(nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
