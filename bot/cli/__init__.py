"""`initiative-bot` command line. Each command module adds its subcommands through `register(subparsers)`.

Errors come out as one line on stderr, never a traceback: exit code 2 for configuration and database-connection
problems, 1 for a refused request or an unexpected error (whose traceback `--verbose` logs).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.cli import audit, db, demo, digest, gates, nudge, outbox, scheduler, serve, socket_mode, webhooks
from bot.config import SettingsError
from bot.services.errors import DomainError
from storage.db import DatabaseUnavailable
from storage.migrate import DatabaseBehind

COMMAND_MODULES = (audit, db, demo, digest, gates, nudge, outbox, scheduler, serve, socket_mode, webhooks)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="initiative-bot",
        description="Carries AI initiatives through stage gates, from idea to production, in Slack.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail (and tracebacks) to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # Alembic narrates every migration step at INFO; operators need only the outcome.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except (SettingsError, DatabaseUnavailable, DatabaseBehind) as exc:
        print(f"initiative-bot: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"initiative-bot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        logging.getLogger("bot.cli").debug("unexpected error", exc_info=True)
        summary = (str(exc).strip().splitlines() or [""])[0][:300]
        print(f"initiative-bot: unexpected error ({type(exc).__name__}: {summary}); "
              "run with --verbose for details", file=sys.stderr)
        return 1
