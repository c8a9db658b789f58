"""What every command needs: settings, a runtime on a reachable database, the workspace to act on.

Light at import: the runtime's libraries load when a command opens one, not when `--help` is printed.
"""

from __future__ import annotations

import argparse
import getpass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.runtime import Runtime
    from bot.services.access.actors import Actor


def add_team_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--team", metavar="T…", help="the workspace to act on, when the database holds several")


def open_runtime(settings: Settings | None = None, *, require_current_schema: bool = True) -> Runtime:
    """The production runtime (`bot.wiring.build_runtime`, every event handler included, as `serve` has), on a
    database that answers and (unless told otherwise) whose schema is up to date."""
    from bot.config import load_settings
    from bot.wiring import build_runtime
    from storage.db import check_connection
    from storage.migrate import ensure_up_to_date

    runtime = build_runtime(settings or load_settings())
    check_connection(runtime.engine)
    if require_current_schema:
        ensure_up_to_date(runtime.engine)
    return runtime


def cli_operator(team_id: str) -> Actor:
    """Whoever runs the CLI has the database in hand, so acts as an admin; the audit names their login."""
    from bot.services.access.actors import Actor

    return Actor(team_id=team_id, user_id=f"cli:{getpass.getuser()}"[:32], is_admin=True)
