"""`initiative-bot nudge --as-of T` lists exactly whom `nudge --send --as-of T` nudges, each in their own zone,
reading unknown zones from Slack (the emulator's users.info) without storing anything."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import func, select

from bot.cli import main
from slack_emulator import SlackEmulator
from storage.models import AuditIdentity, NudgeLog, OutboxMessage, UserProfile
from tests.services.nudges.support import open_review, outbox_dms
from tests.support.factories import TEAM

ASKED = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # Wednesday: Monday is its third business day everywhere
MONDAY_1500_UTC = "2026-12-07T15:00:00+00:00"  # 20:30 in Kolkata, 10:00 in New York, 15:00 in London
ZONES = {"UKOL": "Asia/Kolkata", "UNYC": "America/New_York", "ULON": "Europe/London", "USPONSOR": "Europe/London"}
OWNERS = {"business": "UKOL", "data": "UNYC", "engineering": "ULON", "sponsor": "USPONSOR"}


@pytest.fixture
def emulator(monkeypatch):
    with SlackEmulator(team_id=TEAM) as emulator:
        for user_id, tz in ZONES.items():
            emulator.add_user(user_id, user_id.lower(), tz=tz)
        monkeypatch.setenv("SLACK_BOT_TOKEN", emulator.bot_token)
        monkeypatch.setenv("SLACK_API_URL", emulator.base_url)
        yield emulator


def _listed(out: str) -> set[str]:
    """The recipients of the DMs a `nudge` run lists (nudges and escalations)."""
    return {line.split(" → ")[1].split(" ")[0] for line in out.splitlines()
            if line.startswith(("  nudge → ", "  escalation → "))}


def _rows(runtime, model) -> int:  # type: ignore[no-untyped-def]
    with runtime.read() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_the_dry_run_lists_exactly_whom_send_nudges_each_in_their_own_zone(runtime, emulator, capsys):
    open_review(runtime, asked=ASKED, owners=OWNERS)
    stored = [_rows(runtime, model) for model in (UserProfile, AuditIdentity, OutboxMessage, NudgeLog)]

    assert main(["nudge", "--as-of", MONDAY_1500_UTC]) == 0
    dry = capsys.readouterr().out

    assert _listed(dry) == {"UNYC", "ULON"}
    assert "  held: nudge → UKOL: outside their working hours (Mon 2026-12-07 20:30 Asia/Kolkata)" in dry.splitlines()
    assert ("    AI-1 Pilot approval · Data owner (UNYC): pending 3 business day(s), "
            "SLA Wed 2026-12-09 17:00 America/New_York · reminder due") in dry.splitlines()
    assert "Time zones: 4 read from Slack just now, used here, not stored (a dry run writes nothing)." in dry
    assert "UTC" not in dry.split("\n", 1)[1]  # after the headline, every time is on its reader's clock
    assert len(emulator.calls_to("users.info")) == 4
    assert [_rows(runtime, model) for model in (UserProfile, AuditIdentity, OutboxMessage, NudgeLog)] == stored
    assert stored[0] == 0  # no zone was known before

    assert main(["nudge", "--send", "--as-of", MONDAY_1500_UTC]) == 0
    sent = capsys.readouterr().out

    assert _listed(sent) == _listed(dry)
    assert set(outbox_dms(runtime)) == _listed(dry)
    received = {call.params.get("channel") for call in emulator.calls_to("chat.postMessage")}
    assert received == _listed(dry)
    assert _rows(runtime, UserProfile) == 4  # --send stores the zones it read


def test_a_zone_slack_cannot_give_is_said_to_be_unknown_not_guessed(runtime, emulator, capsys):
    open_review(runtime, asked=ASKED, owners={**OWNERS, "engineering": "UGHOST"})  # Slack knows no UGHOST

    main(["nudge", "--as-of", MONDAY_1500_UTC])
    dry = capsys.readouterr().out

    assert ("  nudge → UGHOST (their time: Mon 2026-12-07 15:00 UTC; their zone is unknown, so DEFAULT_TIMEZONE "
            "applies, as in a sweep): 1 pending sign-off(s), 1 due for a reminder") in dry.splitlines()
    main(["nudge", "--send", "--as-of", MONDAY_1500_UTC])
    assert set(outbox_dms(runtime)) == _listed(dry) == {"UNYC", "UGHOST"}
