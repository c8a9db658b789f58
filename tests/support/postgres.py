"""The test PostgreSQL server: scratch databases, and the rule that CI never skips PostgreSQL tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy.engine import make_url

PG_SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def require_postgres() -> None:
    """Skip when PostgreSQL is unreachable, except under CI=true, where that fails the run."""
    try:
        with psycopg.connect(_dsn(PG_SERVER_URL), connect_timeout=3):
            return
    except psycopg.Error as exc:
        reason = f"PostgreSQL at {PG_SERVER_URL} is unreachable: {str(exc).strip()}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI=true: PostgreSQL tests are never skipped)")
    pytest.skip(reason)


@contextmanager
def scratch_database(prefix: str = "ib_test") -> Iterator[str]:
    """An empty database of its own on the test server, dropped afterwards. Yields its URL."""
    require_postgres()
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_dsn(PG_SERVER_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_dsn(PG_SERVER_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
