"""Immutable, numbered versions of an admin-owned document (gate definitions, the classification questionnaire).

An edit names the version it was based on; saving the next number races other admins only through the table's
unique (workspace, version) constraint, inside a savepoint, so the loser gets `stale()` and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel


def insert_next_version(session: Session, row: SQLModel, *, stale: Callable[[], Exception]) -> None:
    """Insert `row`, the next version; raises `stale()` if another transaction saved that number first."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise stale() from None
