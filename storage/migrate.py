"""Schema migrations: apply them, and tell whether a database is behind."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class DatabaseBehind(Exception):
    """The schema is older than this code; the fix is always the same command."""


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine) -> None:
    """Apply every pending migration, in one transaction, serialised against other replicas."""
    config = alembic_config(engine)
    with _one_upgrade_at_a_time(engine), engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()


@contextmanager
def _one_upgrade_at_a_time(engine: Engine) -> Iterator[None]:
    """On SQLite, an OS lock on a file beside the database, held for the whole upgrade. PostgreSQL serialises
    upgrades with an advisory lock (migrations/env.py), and SQLite's BEGIN IMMEDIATE should do the same; yet
    processes upgrading one new file at once were seen, about once in a dozen runs, to meet a table another had
    just created (cause not found). Processes sharing a SQLite file share a host, so a file lock settles it."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.upgrade-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_up_to_date(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        state = "has no schema" if current is None else f"is at revision {current}, this code needs {head}"
        raise DatabaseBehind(f"the database {state}: run `initiative-bot db upgrade`")
