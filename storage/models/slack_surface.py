"""Which outbox row posted each sign-off request DM, so that the DM can be updated in place (chat.update needs
the D… channel and ts that Slack returned for it, which the outbox row keeps in its `result`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class SignOffMessage(SQLModel, table=True):
    __tablename__ = "sign_off_message"
    # One live DM per sign-off: when a sign-off moves to a new owner, the row points at the new DM.
    __table_args__ = (UniqueConstraint("sign_off_id", name="uq_sign_off_message_sign_off"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(foreign_key="workspace.team_id", max_length=32)
    sign_off_id: int = Field(foreign_key="sign_off.id")
    outbox_message_id: int = Field(foreign_key="outbox_message.id")
    user_id: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
