"""Schema migrations: apply them, and tell whether a database is behind."""

from __future__ import annotations

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
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()


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
