"""`/initiative digest`: a private text preview, through the real app over HTTP."""

from __future__ import annotations

from bot.services.initiatives.service import create_initiative
from tests.support.factories import actor
from tests.support.slack_app import slack_app, slack_emulator  # noqa: F401  (fixtures)


def test_digest_preview_is_private_text_of_the_current_week(slack_app):  # noqa: F811
    team = slack_app.emulator.team_id
    with slack_app.runtime.transaction() as session:
        create_initiative(session, actor=actor("UMARIA", team_id=team), title="Claims <triage> assistant")

    answer = slack_app.ask("digest", user_id="UMARIA")

    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert "AI portfolio digest · week" in answer["text"]
    assert "AI-1 Claims &lt;triage&gt; assistant — in Idea" in answer["text"]  # escaped: it pings nobody
    assert slack_app.emulator.calls_to("chat.postMessage") == []  # a preview posts nothing


def test_unknown_digest_name_says_how_to_fix_it(slack_app):  # noqa: F811
    answer = slack_app.ask("digest claims", user_id="UMARIA")
    assert "There is no digest named claims." in answer["text"]
