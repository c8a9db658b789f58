"""Engines and transactions. One transaction per Slack request or job: `session_scope` owns commit/rollback."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session


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
        # In WAL mode a deferred transaction that reads and then writes fails with SQLITE_BUSY when another
        # writer got in between; taking the write lock up front makes it wait instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        if wait := _lock_wait_ms(connection):
            # SET LOCAL ends with the transaction, so the pooled connection goes back as it was.
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {wait}")
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {wait}")


_LOCK_WAIT_OPTION = "initiative_bot_lock_wait_ms"


def _lock_wait_ms(connection) -> int | None:  # type: ignore[no-untyped-def]
    return connection.get_execution_options().get(_LOCK_WAIT_OPTION)


@contextmanager
def session_scope(engine: Engine, *, lock_wait: float | None = None) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll back if it raises. With `lock_wait`, a statement that
    waits longer than that many seconds for a lock (or to run at all) fails the transaction instead: for work
    whose outcome someone is waiting for within a deadline."""
    options = {_LOCK_WAIT_OPTION: max(1, round(lock_wait * 1000))} if lock_wait is not None else None
    session = Session(engine, expire_on_commit=False, execution_options=options)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def check_connection(engine: Engine) -> None:
    """Raise DatabaseUnavailable with one readable line if the database cannot be reached."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        where = make_url(str(engine.url)).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise DatabaseUnavailable(f"cannot reach the database at {where}: {reason}") from None
