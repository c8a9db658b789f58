"""`initiative-bot demo`."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run a sample portfolio through a gate review on ./initiative-demo.db (no Slack needed)",
        description="Creates ./initiative-demo.db afresh (never the DATABASE_URL database), records sample "
        "initiatives, takes one through a gate review with sign-offs, and prints the portfolio by stage.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.cli.demo_portfolio import run_demo
    from bot.config import load_settings

    run_demo(load_settings())
    return 0
