"""SLACK_ADMINS_ARE_ADMINS: Slack's workspace admins and owners act as admins of the bot, and Slack is asked about a
person's role once in a while, not on every request."""

from __future__ import annotations

from sqlmodel import select

from bot.runtime import Runtime
from slack_emulator import SlackEmulator
from storage.models import Initiative
from tests.listeners.conftest import Slack
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
