"""`initiative-bot prune [--dry-run]`: delete, in bounded batches, what the retention settings let go (the daily
job does the same; the audit trail is never pruned)."""

from __future__ import annotations

import argparse

from bot.cli.common import open_runtime


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prune", help="delete old event receipts, sent messages, webhook deliveries, nudge logs and digest runs",
        description="Deletes, in batches of 1,000 rows (one short transaction each), the rows older than their "
        "RETENTION_*_DAYS setting: event receipts 7 days, sent outbox messages 30, webhook deliveries 90, nudge logs "
        "180, finished digest runs 730. The audit trail is never pruned. Safe while the bot runs, in any replica.")
    parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
    parser.set_defaults(func=run_prune)


def run_prune(args: argparse.Namespace) -> int:
    from bot.services.retention.service import prune

    runtime = open_runtime()
    counts = prune(runtime, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    print("; ".join(f"{name}: {count:,}" for name, count in counts.items()) + f" ({verb})")
    return 0
