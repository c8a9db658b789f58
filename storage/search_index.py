"""The full-text index of initiatives (migration 0022): kept in step by triggers, outside the models.

SQLite: an FTS5 virtual table `initiative_search` (rowid = initiative.id; columns title, tags, owners, description)
and the shadow tables FTS5 keeps beside it. PostgreSQL: a table `initiative_search` (initiative_id, team_id, a
weighted tsvector `document` with a GIN index). Triggers on initiative, owner_assignment and audit_identity refill
an initiative's row on every write path (the service, imports, pseudonymisation, plain SQL), so no code has to
remember to. The models cannot describe a virtual table, so Alembic's comparison is told to leave these alone.
"""

from __future__ import annotations

SEARCH_TABLE = "initiative_search"


def is_search_index(name: str | None) -> bool:
    """Whether a table is the search index or one of FTS5's shadow tables (`initiative_search_data`, ...)."""
    return bool(name) and (name == SEARCH_TABLE or str(name).startswith(f"{SEARCH_TABLE}_"))


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name` hook: compare every table except the search index's."""
    return not (type_ == "table" and is_search_index(name))
