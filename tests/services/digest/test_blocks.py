"""The posted message is valid Block Kit within Slack's limits, also for a portfolio of 2,000 initiatives."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services.digest.service import channel_audience, compute_digest
from bot.views.digest import digest_blocks, fallback_text
from storage.models import Digest
from tests.services.digest.bulk import insert_portfolio
from tests.slack_emulator import validate_blocks
from tests.support.factories import TEAM

AS_OF = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_two_thousand_initiatives_fit_in_one_valid_message(runtime):
    with runtime.transaction() as session:
        insert_portfolio(session, team_id=TEAM, count=2000, as_of=AS_OF)
    digest = Digest(team_id=TEAM, name="default", channel_id="C1", timezone="Europe/Berlin", created_by="system")
    with runtime.transaction() as session:
        report = compute_digest(session, digest=digest, as_of=AS_OF, audience=channel_audience(digest),
                                default_zone=runtime.settings.default_zone)
    blocks = [block.to_dict() for block in digest_blocks(report)]

    assert validate_blocks(blocks, "message") == []
    assert len(blocks) <= 50
    assert sum(row.active + row.paused for row in report.funnel) > 1500
    assert len(report.stalled) > 8 and len(report.waiting) > 8  # long lists, so they must be cut
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    stalled = next(t for t in texts if t.startswith("*Stalled*"))
    assert f"…and {len(report.stalled) - 8} more: `/initiative list stalled` shows them all." in stalled
    waiting = next(t for t in texts if t.startswith("*Waiting on sign-offs*"))
    assert f"…and {len(report.waiting) - 8} more: `/initiative digest` shows them all." in waiting
    assert all(len(text) <= 3000 for text in texts)
    assert len(fallback_text(report)) < 300
