"""The deadline of a transaction someone waits for (a Slack listener's), checked by PostgreSQL at COMMIT.

`storage.db.session_scope` inserts one row, last, into each such transaction; a deferred constraint trigger
(migration 0011) then refuses the COMMIT if the server's clock has passed the deadline, and deletes the row. So
the table is empty between transactions, and a COMMIT delayed by a stalled network never lands after the person
was told that nothing was changed. Unused on SQLite, whose write lock is local.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class CommitDeadline(SQLModel, table=True):
    __tablename__ = "commit_deadline"

    id: int | None = Field(default=None, primary_key=True)
    deadline: datetime = Field(sa_type=UTCDateTime, nullable=False)
