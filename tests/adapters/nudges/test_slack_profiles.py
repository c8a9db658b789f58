"""Time zones read from Slack (users.info, on the emulator) a few at a time, for the nudge sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient

from bot.adapters.nudges import slack_profiles
from bot.services.access.people import zones_of
from bot.services.nudges.scheduled import refresh_zones
from slack_emulator import SlackEmulator
from tests.services.nudges.support import open_review
from tests.support.factories import TEAM

ASKED = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)


def test_zones_are_looked_up_a_bounded_few_per_sweep_and_again_after_a_day(runtime):
    for n in range(5):
        open_review(runtime, asked=ASKED, title=f"Initiative {n}",
                    owners={"business": f"UB{n}", "data": f"UD{n}", "engineering": f"UE{n}"})
    with SlackEmulator(team_id=TEAM) as emulator:
        for n in range(5):
            for prefix, tz in (("UB", "Asia/Tokyo"), ("UD", "America/Chicago"), ("UE", "Africa/Lagos")):
                emulator.add_user(f"{prefix}{n}", tz=tz)
        emulator.add_user("UADMIN", tz="Europe/Paris")
        client = WebClient(token=emulator.bot_token, base_url=emulator.base_url)

        first = refresh_zones(runtime, slack_profiles(client), now=ASKED, limit=10)
        second = refresh_zones(runtime, slack_profiles(client), now=ASKED + timedelta(minutes=15), limit=10)
        third = refresh_zones(runtime, slack_profiles(client), now=ASKED + timedelta(minutes=30), limit=10)
        next_day = refresh_zones(runtime, slack_profiles(client), now=ASKED + timedelta(days=1, minutes=1), limit=10)
        lookups = len(emulator.calls_to("users.info"))

    assert (first, second, third, next_day) == (10, 6, 0, 10)  # 16 people: 15 owners and the admin
    assert lookups == 26
    with runtime.transaction() as session:
        zones = zones_of(session, team_id=TEAM)
    assert zones["UB3"].key == "Asia/Tokyo" and zones["UADMIN"].key == "Europe/Paris"


def test_a_user_slack_does_not_know_keeps_the_default_zone_and_is_not_asked_again_today(runtime):
    open_review(runtime, asked=ASKED, owners={"business": "UGONE", "data": "UDATA", "engineering": "UENG"})
    with SlackEmulator(team_id=TEAM) as emulator:
        emulator.add_user("UDATA", tz="Asia/Tokyo")
        emulator.add_user("UENG", tz="Asia/Tokyo")
        client = WebClient(token=emulator.bot_token, base_url=emulator.base_url)
        refresh_zones(runtime, slack_profiles(client), now=ASKED)
        again = refresh_zones(runtime, slack_profiles(client), now=ASKED + timedelta(hours=1))

    assert again == 0
    with runtime.transaction() as session:
        assert "UGONE" not in zones_of(session, team_id=TEAM)  # DEFAULT_TIMEZONE applies
