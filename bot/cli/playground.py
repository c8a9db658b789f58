"""`initiative-bot playground`."""

from __future__ import annotations

import argparse

LOOPBACK = "127.0.0.1"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "playground",
        help="try the whole bot in a browser, against a built-in Slack emulator (no Slack workspace needed)",
        description="Starts the bot and an embedded Slack emulator in this process, on its own SQLite file "
        "./initiative-playground.db (created afresh; never the DATABASE_URL database), and serves a Slack-like web "
        "page on 127.0.0.1. Ctrl-C stops it. See docs/playground.md.",
    )
    parser.add_argument("--port", type=int, default=8080, help="the page's port (default 8080; 0 picks a free one)")
    parser.add_argument("--sample", action="store_true", help="load the demo's sample portfolio and its people")
    parser.add_argument("--host", default=LOOPBACK,
                        help="the address to listen on (default 127.0.0.1); anything else exposes the playground, "
                        "which anyone who reaches it can use as any of its people, to the network")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import ipaddress
    import logging
    from functools import partial
    from pathlib import Path

    from bot.config import load_settings
    from bot.playground.page import Playground
    from bot.playground.stack import PlaygroundStack

    if not args.verbose:  # the bot's own INFO lines would bury the one line that matters: the URL
        for name in ("bot", "slack_emulator"):
            logging.getLogger(name).setLevel(logging.WARNING)
    database = Path("initiative-playground.db")
    if not _is_loopback(args.host, ipaddress):
        print(f"WARNING: listening on {args.host}, not loopback: anyone who can reach this address can act as "
              "any person in the playground. Use --host only on a network you trust.")
    print(f"Starting the playground on its own SQLite database ./{database} (created afresh; DATABASE_URL is "
          "never used)...", flush=True)
    settings = load_settings()
    playground = Playground(partial(PlaygroundStack, settings, database=database, sample=args.sample),
                            host=args.host, port=args.port)
    print(f"Playground ready: open {playground.url}  (Ctrl-C to stop)", flush=True)
    try:
        playground.serve_forever()
    except KeyboardInterrupt:
        print("\nStopping the playground...", flush=True)
    finally:
        playground.close()
    print("Stopped.")
    return 0


def _is_loopback(host: str, ipaddress) -> bool:  # type: ignore[no-untyped-def]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
