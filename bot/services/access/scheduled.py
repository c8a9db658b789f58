"""What the delegation job calls (bot/jobs/delegations.py): `end_lapsed_delegations`, which ends the delegations
whose last day has passed, so that the delegate's App Home (and the owner's) is published again without what it
listed for the owner. A delegation ended by `/initiative delegate off` needs no sweep: that command ends it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.services.access.delegation import end_lapsed
from bot.services.scheduling import JobRuntime
from storage.types import utcnow

SWEEP_MINUTES = 5

log = logging.getLogger(__name__)


def end_lapsed_delegations(runtime: JobRuntime, *, now: datetime | None = None) -> int:
    """End, in one transaction, every delegation over at `now`; returns how many. Each ends once, whatever the
    replicas (see `end_lapsed`), and a missed run needs no catch-up: the next finds what it missed."""
    now = (now or utcnow()).astimezone(UTC)
    with runtime.transaction() as session:
        ended = len(end_lapsed(session, now=now))
    if ended:
        log.info("delegations ended: %d passed their last day", ended)
    return ended
