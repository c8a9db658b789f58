"""Alembic environment. Targets SQLModel.metadata; run through `initiative-bot db upgrade` (storage.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table on SQLModel.metadata)
from storage.db import make_engine
from storage.search_index import include_name

# A fixed key for the advisory lock that serialises concurrent upgrades from several replicas.
MIGRATION_LOCK_KEY = 0x1B07_0001

config = context.config


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,  # the search index is kept by triggers, outside the models
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two replicas upgrading at once: the second waits here, then finds nothing left to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            # All migrations run in this one transaction. A deferred foreign key would queue a check for each row a
            # migration updates, and PostgreSQL refuses to ALTER a table with checks pending (a later migration
            # of the same run altering that table): check each statement at once instead.
            connection.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        # On SQLite the engine begins every transaction with BEGIN IMMEDIATE, which serialises the same way.
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `initiative-bot db upgrade`")
run_migrations_online()
