"""Who administers the gates: admins added in the app (on top of ADMIN_USER_IDS and, when enabled, Slack's
workspace admins and owners)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class AppAdmin(SQLModel, table=True):
    """A person made an admin with `/initiative admins add`. One row per workspace and person."""

    __tablename__ = "app_admin"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_app_admin"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    user_id: str = Field(max_length=32)
    added_by: str = Field(max_length=32)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
