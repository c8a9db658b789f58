"""`python -m tests.support.table_dns_bot serve …`: the bot's own command line, with host names answered from the
table in tests/support/private_addresses.py instead of real DNS, so that `tests/security/` can send names that
resolve to private addresses, and names that do not resolve, to a running `serve`.

Only the bot's one DNS step (`bot.integrations.targets.resolve`, looked up at each call) is replaced, here and
not by a setting: production has no switch that swaps its resolver. serve's gunicorn workers are forked from this
process, so they inherit the table."""

from __future__ import annotations

from bot.cli import main
from bot.integrations import targets
from tests.support.private_addresses import table_resolver

targets.resolve = table_resolver()
raise SystemExit(main())
