"""What every command needs: settings, a runtime on a reachable database, the workspace to act on.

Light at import: the runtime's libraries load when a command opens one, not when `--help` is printed.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.runtime import Runtime
    from bot.services.access.service import Actor

TOKEN_SOURCE = "the bot token (auth.test)"


def add_team_option(
    parser: argparse.ArgumentParser,
    help: str = "the workspace to act on (default: SLACK_TEAM_ID, else the bot token's workspace)",
) -> None:
    parser.add_argument("--team", metavar="T…", type=_team_id, help=help)


def _team_id(text: str) -> str:
    from bot.config import is_team_id

    if not is_team_id(text):
        raise argparse.ArgumentTypeError(f"'{text}' is not a Slack workspace ID; expected one like T012AB3CD")
    return text


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


def workspace_to_act_on(runtime: Runtime, team: str | None, *, create: bool = True) -> str:
    """The workspace a command acts on, so that an admin can set everything up before Slack's first request.

    Taken from `--team`, else SLACK_TEAM_ID, else the bot token's workspace (`auth.test`), else the only workspace
    the database holds. Every one of the first three that is given is asked, and two that disagree stop the
    command: acting on the wrong workspace would set up gates, digests and admins nobody sees. When one of them
    decided, says on stderr which. The workspace exists afterwards, with its default gates, as after its first
    Slack request; with `create=False`, the command creates it (`ensure_workspace`) in its own transaction, so that
    a command that fails leaves no workspace behind."""
    from bot.config import SettingsError
    from bot.services.gates.service import ensure_workspace, workspace_ids
    from storage.models import Workspace

    settings = runtime.settings
    given = [
        (source, value) for source, value in (("--team", team), ("SLACK_TEAM_ID", settings.slack_team_id)) if value
    ]
    if settings.slack_bot_token:
        given.append((TOKEN_SOURCE, bot_token_workspace(settings)))
    if len({value for _, value in given}) > 1:
        said = "; ".join(f"{source} says {value}" for source, value in given)
        raise SettingsError(f"which workspace? {said}. Make them agree, or leave out the wrong one")
    with runtime.transaction() as session:
        if not given:
            known = workspace_ids(session)
            if len(known) != 1:
                held = f"holds {', '.join(known)}" if known else "holds no workspace yet"
                raise SettingsError(
                    f"which workspace? This database {held}: pass --team T…, or set SLACK_TEAM_ID or SLACK_BOT_TOKEN"
                )
            return known[0]  # nothing to choose from, nothing to say
        source, team_id = given[0]
        is_new = session.get(Workspace, team_id) is None
        if create:
            ensure_workspace(session, team_id=team_id)
    created = "" if not is_new else ("; new in this database, with the default gates" if create else
                                     "; new in this database: added, with the default gates, only if this succeeds")
    print(f"initiative-bot: workspace {team_id} (from {source}){created}", file=sys.stderr)
    return team_id


@contextmanager
def quiet_libraries(*logger_names: str) -> Iterator[None]:
    """Hold back the named loggers' lines (Bolt's and slack_sdk's, whose warnings and errors around a refused
    start-up come before, and say less than, the one line the command ends with) for the duration, unless
    --verbose asked for everything."""
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        yield
        return
    loggers = [logging.getLogger(name) for name in logger_names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def bot_token_workspace(settings: Settings) -> str:
    """The team id of the bot token's workspace, from `auth.test`; one clear line if Slack refuses the token or
    cannot be reached."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    from bot.config import SettingsError

    # slack_sdk logs each failed attempt at ERROR, around the one line this ends with; --verbose shows them.
    attempts = logging.getLogger("bot.cli.auth_test")
    attempts.setLevel(logging.NOTSET if logging.getLogger().isEnabledFor(logging.DEBUG) else logging.CRITICAL)
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10, logger=attempts)
    try:
        return str(client.auth_test()["team_id"])
    except SlackApiError as exc:
        raise SettingsError(
            f"{settings.bot_token_setting} was refused by Slack ({exc.response.get('error')}): expected the bot token "
            "from OAuth & Permissions"
        ) from None
    except OSError as exc:
        raise SettingsError(f"SLACK_API_URL cannot be reached ({settings.slack_api_url}): {exc}") from None


def cli_operator(team_id: str) -> Actor:
    """Whoever runs the CLI has the database in hand, so acts as an admin; the audit names their login."""
    from bot.services.access.service import Actor

    return Actor(team_id=team_id, user_id=f"cli:{getpass.getuser()}"[:32], is_admin=True)
