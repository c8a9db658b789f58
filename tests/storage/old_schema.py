"""Databases filled under an older schema, as a user who upgrades has them: migrate an empty database to a past
revision, write rows with plain SQL (the models describe only today's schema), then upgrade."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

from storage.db import make_engine
from storage.migrate import alembic_config
from tests.support.postgres import scratch_database


@contextmanager
def empty_database(backend: str, tmp_path: Any) -> Iterator[str]:
    """The URL of a database with no schema at all: a new SQLite file or a scratch PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with scratch_database("ib_upgrade") as url:
        yield url


def migrate_to(engine: Engine, revision: str) -> None:
    _apply(engine, command.upgrade, revision)


def downgrade_to(engine: Engine, revision: str) -> None:
    _apply(engine, command.downgrade, revision)


def _apply(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    config = alembic_config(engine)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        step(config, revision)
        connection.commit()


def at_revision(url: str, revision: str) -> Engine:
    engine = make_engine(url)
    migrate_to(engine, revision)
    return engine


def moment(connection: Connection, value: str) -> str:
    """A UTC time as each backend stores it (storage/types.py): naive text on SQLite, timestamptz on PostgreSQL."""
    return value if connection.dialect.name == "sqlite" else f"{value}+00"


def insert(connection: Connection, table: str, *, key: str = "id", **values: Any) -> Any:
    """INSERT one row with plain SQL; dicts and lists are written as JSON. Returns the new row's `key`."""
    as_json = {name for name, value in values.items() if isinstance(value, dict | list)}
    cast = "{}" if connection.dialect.name == "sqlite" else "CAST({} AS jsonb)"
    placeholders = ", ".join(cast.format(f":{name}") if name in as_json else f":{name}" for name in values)
    params = {name: json.dumps(value) if name in as_json else value for name, value in values.items()}
    statement = f"INSERT INTO {table} ({', '.join(values)}) VALUES ({placeholders}) RETURNING {key}"
    return connection.execute(text(statement), params).scalar_one()
