"""Engines and transactions. One transaction per Slack request or job: `session_scope` owns commit/rollback."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from storage.models.commit_deadline import CommitDeadline


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message says which one and why, without credentials."""


def normalise_url(url: str) -> str:
    """`postgresql://` means PostgreSQL through psycopg 3, whatever SQLAlchemy's default driver is."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5, "application_name": "initiative-bot"},
    )
    _configure_postgresql(engine)
    return engine


# ---- deadlines ------------------------------------------------------------------------------------------

# When this thread must give up waiting on PostgreSQL (time.monotonic), while a transaction with a deadline runs.
_give_up_at: ContextVar[float | None] = ContextVar("initiative_bot_give_up_at", default=None)

# How long after its deadline a transaction's client still waits for the answer to its COMMIT: the server refuses
# a COMMIT that arrives after the deadline, and the answer to one that arrived in time needs a moment to come back.
COMMIT_ANSWER_GRACE_SECONDS = 0.25


class DeadlinePassed(psycopg.OperationalError):
    """PostgreSQL did not answer before the transaction's deadline; the connection was abandoned."""


class _DeadlineConnection(psycopg.Connection):  # type: ignore[type-arg]
    """psycopg's connection, giving up on the database when the transaction's deadline passes.

    A stalled network (the peer's kernel still acknowledging) trips none of the client's own timeouts, and the
    server never learns of the stall, so the wait itself must end. The connection is then closed, since its
    state is unknown: the pool discards it instead of handing it to the next request."""

    def wait(self, gen, interval=0.1, timeout=None):  # type: ignore[no-untyped-def,override]
        give_up_at = _give_up_at.get()
        if give_up_at is None:
            return super().wait(gen, interval, timeout)
        remaining = max(0.0, give_up_at - time.monotonic())
        try:
            return super().wait(gen, interval, remaining if timeout is None else min(timeout, remaining))
        except psycopg.OperationalError:
            if time.monotonic() < give_up_at:
                raise
            self.pgconn.finish()  # not close(): that would wait for the lock this wait holds
            raise DeadlinePassed("the database did not answer before the request's deadline") from None


def _connect_before_deadline(dialect, conn_rec, cargs, cparams):  # type: ignore[no-untyped-def]
    """Open connections through `_DeadlineConnection`; within a deadline, give up when it has passed (psycopg
    waits at least 2 s for a connection, so an attempt started late may end up to that much after it)."""
    give_up_at = _give_up_at.get()
    if give_up_at is not None:
        remaining = give_up_at - time.monotonic()
        if remaining <= 0:
            raise DeadlinePassed("the database did not answer before the request's deadline")
        cparams["connect_timeout"] = min(int(cparams.get("connect_timeout") or 5), max(2, math.ceil(remaining)))
    return _DeadlineConnection.connect(*cargs, **cparams)


SQLITE_BUSY_TIMEOUT_SECONDS = 30


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """Put the file in WAL mode (it stays so). On a new file, processes connecting at once (replicas upgrading it)
    race for the switch, and SQLite answers "locked" at once instead of waiting when waiting could deadlock: try
    again until the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # SQLite ignores foreign keys unless this is set on every connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        record.info["busy_timeout"] = SQLITE_BUSY_TIMEOUT_SECONDS * 1000  # what _on_begin changes it from
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        # The write lock is all a transaction here ever waits for, and BEGIN IMMEDIATE is where it waits.
        busy_timeout = _lock_wait_ms(connection) or SQLITE_BUSY_TIMEOUT_SECONDS * 1000
        info = connection.connection.info  # this database connection's own state, kept across the pool
        if info.get("busy_timeout") != busy_timeout:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={busy_timeout}")
            info["busy_timeout"] = busy_timeout
        read_only = _read_only(connection)
        if info.get("query_only", False) != read_only:  # a write in a read-only transaction fails, as on PostgreSQL
            connection.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
            info["query_only"] = read_only
        # In WAL mode a deferred transaction that reads and then writes fails with SQLITE_BUSY when another
        # writer got in between; taking the write lock up front makes it wait instead. A read-only transaction
        # takes no lock at all: in WAL mode it reads its snapshot while writers write.
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _configure_postgresql(engine: Engine) -> None:
    event.listen(engine, "do_connect", _connect_before_deadline)

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        if _read_only(connection):
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        if wait := _lock_wait_ms(connection):
            # SET LOCAL ends with the transaction, so the pooled connection goes back as it was.
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {wait}")
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {wait}")


_LOCK_WAIT_OPTION = "initiative_bot_lock_wait_ms"
_READ_ONLY_OPTION = "initiative_bot_read_only"


def _lock_wait_ms(connection) -> int | None:  # type: ignore[no-untyped-def]
    return connection.get_execution_options().get(_LOCK_WAIT_OPTION)


def _read_only(connection) -> bool:  # type: ignore[no-untyped-def]
    return bool(connection.get_execution_options().get(_READ_ONLY_OPTION))


@contextmanager
def session_scope(engine: Engine, *, lock_wait: float | None = None, read_only: bool = False) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll back if it raises.

    With `lock_wait`, for work whose outcome someone is waiting for within a deadline: a statement that waits
    longer than that many seconds for a lock (or to run at all) fails the transaction. On PostgreSQL so does the
    whole transaction if it has not committed that many seconds after it started: the server refuses a COMMIT
    that reaches it after the deadline (migration 0011), and the client stops waiting for any answer soon after
    it, abandoning the connection. So what the person was told had failed does not commit later. (SQLite's write
    lock is local, and nothing reaches it late.)

    `read_only` transactions write nothing and take no write lock (SQLite: a deferred BEGIN; PostgreSQL:
    READ ONLY)."""
    options: dict[str, Any] = {_READ_ONLY_OPTION: True} if read_only else {}
    deadline = None
    if lock_wait is not None:
        options[_LOCK_WAIT_OPTION] = max(1, round(lock_wait * 1000))
        deadline = datetime.now(UTC) + timedelta(seconds=lock_wait)
    token = _give_up_at.set(time.monotonic() + lock_wait + COMMIT_ANSWER_GRACE_SECONDS) if lock_wait else None
    session = Session(engine, expire_on_commit=False, execution_options=options or None)
    try:
        yield session
        if deadline is not None and not read_only and not is_sqlite(engine) and session.in_transaction():
            session.flush()
            # Last before COMMIT, so that its deferred check runs after every other deferred constraint.
            session.add(CommitDeadline(deadline=deadline))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if token is not None:
            _give_up_at.reset(token)


def missing_sqlite_file(url: str) -> str | None:
    """The path of the SQLite file `url` names, if there is no such file (connecting would create an empty one);
    None for an existing file, an in-memory database or PostgreSQL."""
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return None
    return None if Path(path).exists() else path


def check_connection(engine: Engine) -> None:
    """Raise DatabaseUnavailable with one readable line if the database cannot be reached."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        where = make_url(str(engine.url)).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise DatabaseUnavailable(f"cannot reach the database at {where}: {reason}") from None
