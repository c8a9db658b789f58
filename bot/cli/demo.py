"""`initiative-bot demo`."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run a sample portfolio through a gate review on ./initiative-demo.db (no Slack needed)",
        description="Creates ./initiative-demo.db afresh (never the DATABASE_URL database), records sample "
        "initiatives, takes one through a gate review with sign-offs, and prints, as a person reads them in Slack, "
        "the DM, the portfolio by stage, the reminders, the weekly digest (and its chart) and the history.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging
    import sys

    from bot.cli.demo_portfolio import run_demo
    from bot.config import load_settings

    if not args.verbose:  # the bot's own INFO lines would interrupt the story the demo tells
        logging.getLogger("bot").setLevel(logging.WARNING)
    run_demo(load_settings(), ansi=sys.stdout.isatty())
    return 0
