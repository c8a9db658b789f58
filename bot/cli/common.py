"""What every command needs: settings, a runtime on a reachable database, the workspace to act on."""

from __future__ import annotations

import argparse
import getpass

from bot.config import Settings, load_settings
from bot.runtime import Runtime
from bot.services.access.actors import Actor
from storage.db import check_connection
from storage.migrate import ensure_up_to_date


def add_team_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--team", metavar="T…", help="the workspace to act on, when the database holds several")


def open_runtime(settings: Settings | None = None, *, require_current_schema: bool = True) -> Runtime:
    """A runtime whose database answers, and (unless told otherwise) whose schema is up to date."""
    runtime = Runtime.from_settings(settings or load_settings())
    check_connection(runtime.engine)
    if require_current_schema:
        ensure_up_to_date(runtime.engine)
    return runtime


def cli_operator(team_id: str) -> Actor:
    """Whoever runs the CLI has the database in hand, so acts as an admin; the audit names their login."""
    return Actor(team_id=team_id, user_id=f"cli:{getpass.getuser()}"[:32], is_admin=True)
