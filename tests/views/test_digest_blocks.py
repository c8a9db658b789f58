"""The posted messages are valid Block Kit within Slack's limits, also for a portfolio of 2,000 initiatives, and
say what they mean in plain words."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from bot.services.digest.report import Conversion, FunnelRow, Median, Movement
from bot.services.digest.service import channel_audience, compute_digest
from bot.views.digest import digest_in_full, digest_messages
from bot.views.plain_text import Reader, render_blocks
from slack_emulator import validate_blocks
from storage.models import Digest
from tests.services.digest.bulk import insert_portfolio
from tests.services.digest.reports import report
from tests.support.factories import TEAM

AS_OF = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_two_thousand_initiatives_make_valid_messages_of_at_most_fifty_blocks_with_every_list_in_full(runtime):
    with runtime.transaction() as session:
        insert_portfolio(session, team_id=TEAM, count=2000, as_of=AS_OF)
    digest = Digest(team_id=TEAM, name="default", channel_id="C1", timezone="Europe/Berlin", created_by="system")
    with runtime.transaction() as session:
        report = compute_digest(session, digest=digest, as_of=AS_OF, audience=channel_audience(digest),
                                default_zone=runtime.settings.default_zone)
    messages = digest_messages(report)

    assert sum(row.active + row.paused for row in report.funnel) > 1500
    assert len(messages) > 1
    for message in messages:
        assert validate_blocks(message.blocks, "message") == []  # at most 50 blocks, each within its limits
        assert len(message.text) < 300
    assert messages[0].blocks[-1]["elements"][0]["text"] == (
        f"The digest goes on in this thread ({len(messages) - 1} more messages).")
    assert messages[1].text == f"AI portfolio digest · week {report.week}, continued (2 of {len(messages)})"
    read = "\n".join(render_blocks(message.blocks, Reader()) for message in messages)
    stalled = re.findall(r"^• AI-\d+ .* days in \w+ \(threshold \d+\)$", read, re.MULTILINE)
    assert len(stalled) == len(report.stalled) > 100  # every one, none cut
    assert read.count(" blocks AI-") == len(report.waiting) > 100
    assert "(continued)" in read and "more:" not in read


def test_the_digest_speaks_plainly() -> None:
    plain = replace(report([("Idea", 1, 2, 1), ("Pilot", 3, 2, 2)], {"Idea": (1,) * 12}),
                    median_days_in_stage={"Idea": Median(102.5, 5), "Pilot": Median(2.5, 1), "Scaled": Median(None, 0)})
    read = render_blocks(digest_in_full(plain), Reader())  # as in Slack, in a terminal and in the preview
    assert "3 paused initiatives are not counted above: 1 in Idea, 2 in Pilot." in read
    assert "2 of 5 (40%) of the initiatives that entered Pilot reached Production." in read
    assert "Idea: 102 days (5 stays)" in read and "Pilot: 2.5 days (1 stay)" in read
    assert "Scaled: none yet" in read
    assert "(apart)" not in read and "docs/" not in read and "n=" not in read
    assert "Moved this week  nothing moved" in read
    moved = replace(plain, new=(Movement("AI-9", "Fraud model", AS_OF, "in Idea"),))
    moved_read = render_blocks(digest_in_full(moved), Reader())
    assert "Moved this week  New 1\n" in moved_read  # only what moved is counted, no "Sent back 0"
    one = replace(plain, funnel=(FunnelRow("idea", "Idea", 1, 1, 1),), conversion=Conversion(0, 0))
    one_read = render_blocks(digest_in_full(one), Reader())
    assert "1 paused initiative is not counted above: 1 in Idea." in one_read
    assert "No initiative entered Pilot in the last 365 days." in one_read
