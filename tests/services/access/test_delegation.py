"""The rules of `/initiative delegate`, each explained in one sentence."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.services.access.delegation import delegate, end_delegation, parse_until
from bot.services.errors import InvalidInput, NotFound
from tests.support.factories import actor

ASKED = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)


def test_delegation_rules_are_explained(runtime):
    zone = runtime.settings.default_zone
    with runtime.transaction() as session:
        with pytest.raises(InvalidInput, match="cannot delegate to yourself"):
            delegate(session, actor=actor("UBIZ"), delegate_id="UBIZ", until=date(2026, 12, 24), owner_zone=zone,
                     now=ASKED)
        with pytest.raises(InvalidInput, match="has passed"):
            delegate(session, actor=actor("UBIZ"), delegate_id="UDEP", until=date(2026, 11, 8), owner_zone=zone,
                     now=ASKED)
        with pytest.raises(NotFound, match="no delegation to end"):
            end_delegation(session, actor=actor("UBIZ"), now=ASKED)
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        parse_until("24/12/2026")
