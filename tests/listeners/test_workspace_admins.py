"""SLACK_ADMINS_ARE_ADMINS: Slack's workspace admins and owners act as admins of the bot, and Slack is asked about a
person's role once in a while, not on every request."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.runtime import Runtime
from slack_emulator import SlackEmulator
from storage.models import Initiative
from tests.listeners.conftest import Slack
from tests.listeners.test_home import homes_published_to, open_home
from tests.support.slack_app import serve_in_thread

RETIRE_REFUSED = ("Only an admin can retire an initiative, which is for merges and duplicates; to stop one, its "
                  "sponsor or an admin kills it: `/initiative kill AI-1`.")


def test_workspace_admins_act_as_admins_and_slack_is_asked_about_each_person_once(
    runtime: Runtime, slack_emulator: SlackEmulator
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"slack_admins_are_admins": True})
    slack_emulator.add_user("UWSADMIN", "ws-admin", is_admin=True)
    slack_emulator.add_user("UOWNER", "ws-owner", is_owner=True)
    slack_emulator.add_user("UMARIA", "maria")
    with serve_in_thread(runtime, slack_emulator) as running:
        slack = Slack(running)
        for title in ("Alpha", "Beta", "Gamma"):
            slack.command(f"new {title}", user="UMARIA")
        refused = slack.command("retire AI-1 not needed", user="UMARIA")
        retired = [slack.command("retire AI-1 merged", user="UWSADMIN"),
                   slack.command("retire AI-2 merged", user="UWSADMIN"),
                   slack.command("retire AI-3 merged", user="UOWNER")]

    assert refused["text"] == RETIRE_REFUSED
    assert all("retired" in answer["text"] for answer in retired), retired
    with runtime.transaction() as session:
        assert {i.key: i.status for i in session.exec(select(Initiative))} == {
            "AI-1": "retired", "AI-2": "retired", "AI-3": "retired"}
    asked = [call.params["user"] for call in slack_emulator.calls_to("users.info")]
    assert sorted(asked) == ["UMARIA", "UOWNER", "UWSADMIN"]  # four requests from maria, two from the admin


def portfolio_shown(home: dict) -> bool:
    return any(b["type"] == "header" and b["text"]["text"] == "Portfolio" for b in home["blocks"])


@pytest.mark.parametrize("slack_admins_are_admins", [True, False])
def test_a_workspace_admins_home_shows_the_portfolio_as_their_commands_act_as_admin(
    runtime: Runtime, slack_emulator: SlackEmulator, slack_admins_are_admins: bool
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"slack_admins_are_admins": slack_admins_are_admins})
    slack_emulator.add_user("UWSADMIN", "ws-admin", is_admin=True)
    slack_emulator.add_user("UMARIA", "maria")
    with serve_in_thread(runtime, slack_emulator) as running:
        slack = Slack(running)
        slack.command("new Alpha", user="UMARIA")
        retired = slack.command("retire AI-1 merged", user="UWSADMIN")["text"]
        opened = {user: open_home(slack, user) for user in ("UWSADMIN", "UMARIA")}
        slack.emulator.clear()
        slack.command("new Beta", user="UWSADMIN")  # their Home is refreshed, by the sender this time
        slack.deliver()
        [refreshed] = homes_published_to(slack, "UWSADMIN")

    assert ("retired" in retired) is slack_admins_are_admins
    assert portfolio_shown(opened["UWSADMIN"]) is slack_admins_are_admins
    assert portfolio_shown(refreshed) is slack_admins_are_admins
    assert not portfolio_shown(opened["UMARIA"])
