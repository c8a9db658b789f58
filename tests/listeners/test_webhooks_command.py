"""`/initiative webhooks` through the subcommand registry, as the listener runs it."""

from __future__ import annotations

from bot.listeners.commands import run_command
from bot.listeners.middleware import request_actor
from tests.support.factories import TEAM


def _run(runtime, text, user="UADMIN"):
    # Admins come from ADMIN_USER_IDS here, so resolving the actor never needs Slack.
    actor = request_actor(runtime, workspace=TEAM, team_id=TEAM, user_id=user, client=None)
    return run_command(runtime, {"text": text, "team_id": TEAM, "user_id": user, "channel_id": "C1"}, None, actor)


def test_admin_adds_lists_and_removes(runtime):
    added = _run(runtime, "webhooks add <https://hooks.example.com/x> stage.changed").text
    assert added.startswith("Webhook 1 registered: https://hooks.example.com/x receives stage.changed.")
    assert "whsec_" in added
    assert _run(runtime, "webhooks list").text == "1. https://hooks.example.com/x - stage.changed - enabled"
    assert "removed" in _run(runtime, "webhooks remove 1").text
    assert _run(runtime, "webhooks list").text.startswith("No webhooks are registered.")


def test_non_admins_and_bad_input_get_one_sentence(runtime):
    assert "Only an admin can register webhooks." in _run(runtime, "webhooks add https://hooks.example.com/x",
                                                           user="UBIZ").text
    assert "Say `webhooks add &lt;https URL&gt; [events…]`" in _run(runtime, "webhooks frobnicate").text


def test_urls_are_escaped_for_slack(runtime):
    added = _run(runtime, "webhooks add <https://hooks.example.com/x?a=1&amp;b=2>").text
    assert "https://hooks.example.com/x?a=1&amp;b=2 receives" in added
    assert "1. https://hooks.example.com/x?a=1&amp;b=2 - all events" in _run(runtime, "webhooks list").text
    _run(runtime, "webhooks remove 1")
    assert _run(runtime, "webhooks list").text.startswith(
        "No webhooks are registered. Add one with `/initiative webhooks add &lt;https URL&gt;")


def test_a_private_address_in_any_spelling_is_one_clear_refusal(runtime):
    for url, reason in (("<https://0177.0.0.1/>", "0177.0.0.1 is a non-standard spelling of the IP address 127.0.0.1"),
                        ("<http://localhost./x>", "localhost is addressed over plain http"),
                        ("<https://[64:ff9b::7f00:1]/x>", "(which carries 127.0.0.1) is not a public address")):
        refusal = _run(runtime, f"webhooks add {url}").text.splitlines()[0]  # the usage lines follow it
        assert refusal.startswith("Cannot send webhooks there: ") and reason in refusal, refusal
        assert "unexpected" not in refusal.lower()
    assert _run(runtime, "webhooks list").text.startswith("No webhooks are registered.")
