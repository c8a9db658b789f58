"""The posted message is valid Block Kit within Slack's limits, also for a portfolio of 2,000 initiatives, and
says what it means in plain words."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.services.digest.report import Conversion, FunnelRow, Median, Movement
from bot.services.digest.service import channel_audience, compute_digest
from bot.views.digest import digest_blocks, digest_text, fallback_text
from bot.views.plain_text import Reader, render_blocks
from slack_emulator import validate_blocks
from storage.models import Digest
from tests.services.digest.bulk import insert_portfolio
from tests.services.digest.reports import report
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


def test_the_digest_speaks_plainly_in_slack_and_as_text() -> None:
    plain = replace(report([("Idea", 1, 2, 1), ("Pilot", 3, 2, 2)], {"Idea": (1,) * 12}),
                    median_days_in_stage={"Idea": Median(102.5, 5), "Pilot": Median(2.5, 1), "Scaled": Median(None, 0)})
    read = render_blocks([block.to_dict() for block in digest_blocks(plain)], Reader())
    text = digest_text(plain)
    for shown in (read, text):
        assert "3 paused initiatives are not counted above: 1 in Idea, 2 in Pilot." in shown
        assert "2 of 5 (40%) of the initiatives that entered Pilot reached Production." in shown
        assert "Idea: 102 days (5 stays)" in shown and "Pilot: 2.5 days (1 stay)" in shown
        assert "Scaled: none yet" in shown
        assert "(apart)" not in shown and "docs/" not in shown and "n=" not in shown
    assert "Moved this week  nothing moved" in read
    moved = replace(plain, new=(Movement("AI-9", "Fraud model", AS_OF, "in Idea"),))
    moved_read = render_blocks([block.to_dict() for block in digest_blocks(moved)], Reader())
    assert "Moved this week  New 1\n" in moved_read  # only what moved is counted, no "Sent back 0"
    one = replace(plain, funnel=(FunnelRow("idea", "Idea", 1, 1, 1),), conversion=Conversion(0, 0))
    assert "1 paused initiative is not counted above: 1 in Idea." in digest_text(one)
    assert "No initiative entered Pilot in the last 365 days." in digest_text(one)
