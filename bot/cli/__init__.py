"""`initiative-bot` command line. Each command module adds its subcommands through `register(subparsers)`.

The command modules import only the standard library at their top level; each subcommand imports what it needs
(Slack, SQLAlchemy, gunicorn, matplotlib, ...) when it runs, so `--help` and `--version` answer at once
(tests/cli/test_startup.py holds them to that).

Errors come out as one line on stderr, never a traceback (`--verbose` logs it): exit code 2 when a setting is
missing or wrong, or Slack or the database cannot be reached or refuses; 1 for a refused request or an unexpected
error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.cli import (
    admins,
    audit,
    db,
    demo,
    digest,
    gates,
    nudge,
    outbox,
    playground,
    portfolio,
    scheduler,
    serve,
    socket_mode,
    webhooks,
)

COMMAND_MODULES = (admins, audit, db, demo, digest, gates, nudge, outbox, playground, portfolio, scheduler, serve,
                   socket_mode, webhooks)
DISTRIBUTION = "initiative-bot"


class _PrintVersion(argparse.Action):
    """`--version`: the installed package's version (pyproject.toml's), looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        from importlib.metadata import version

        print(f"{parser.prog} {version(DISTRIBUTION)}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="initiative-bot",
        description="Carries AI initiatives through stage gates, from idea to production, in Slack.",
    )
    parser.add_argument("--version", action=_PrintVersion)
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
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    # Imported here, after parsing: settings and storage bring pydantic and SQLAlchemy, which --help never needs.
    from bot.config import SettingsError
    from bot.services.errors import DomainError
    from storage.db import DatabaseUnavailable
    from storage.migrate import DatabaseBehind

    log = logging.getLogger("bot.cli")
    try:
        return int(args.func(args) or 0)
    except (SettingsError, DatabaseUnavailable, DatabaseBehind) as exc:
        log.debug("cannot run", exc_info=True)
        print(f"initiative-bot: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        log.debug("refused", exc_info=True)
        print(f"initiative-bot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        log.debug("unexpected error", exc_info=True)
        summary = (str(exc).strip().splitlines() or [""])[0][:300]
        print(f"initiative-bot: unexpected error ({type(exc).__name__}: {summary}); "
              "run with --verbose for details", file=sys.stderr)
        return 1
