"""`initiative-bot db upgrade|current`."""

from __future__ import annotations

import argparse

from bot.cli.common import open_runtime


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="database schema: upgrade or show the current revision")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade_parser = actions.add_parser(
        "upgrade", help="apply pending migrations (safe to run from several replicas at once)"
    )
    upgrade_parser.set_defaults(func=run_upgrade)
    current_parser = actions.add_parser(
        "current", help="show the schema revision and whether it is current (never creates a database)"
    )
    current_parser.set_defaults(func=run_current)


def run_upgrade(args: argparse.Namespace) -> int:
    from storage.migrate import current_revision, upgrade

    runtime = open_runtime(require_current_schema=False)
    before = current_revision(runtime.engine)
    upgrade(runtime.engine)
    after = current_revision(runtime.engine)
    print(f"database is at revision {after}" + ("" if before == after else f" (was {before or 'empty'})"))
    return 0


def run_current(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from storage.db import DatabaseUnavailable, missing_sqlite_file
    from storage.migrate import current_revision, head_revision

    settings = load_settings()
    # Looking must not create: opening a SQLite path that does not exist would leave an empty file behind.
    if missing := missing_sqlite_file(settings.database_url):
        raise DatabaseUnavailable(f"there is no database at {missing}: `initiative-bot db upgrade` creates it")
    runtime = open_runtime(settings, require_current_schema=False)
    current, head = current_revision(runtime.engine), head_revision(runtime.engine)
    print(f"current: {current or 'none'}; this code needs: {head}")
    return 0 if current == head else 1
