"""Bad input gets one short private answer that says what was wrong and shows the right usage: never a 500,
a stack trace, a ping, or a half-written change."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.views.replies import SOMETHING_WENT_WRONG
from slack_emulator import validate_blocks
from storage.models import AuditEvent, Initiative
from tests.listeners.conftest import Slack
from tests.support.blockkit import unwanted_mentions

SHORT = 600  # an error: one sentence and one subcommand's usage
ONE_MESSAGE = 3000


def assert_one_private_answer(answer: dict, *, limit: int) -> None:
    assert answer["response_type"] == "ephemeral"
    assert 0 < len(answer["text"]) <= limit
    assert "Traceback" not in answer["text"] and SOMETHING_WENT_WRONG not in answer["text"]
    assert validate_blocks(answer.get("blocks", []), "message") == []


@pytest.mark.parametrize(("text", "says", "usage"), [
    ("frobnicate AI-1", "`/initiative frobnicate` is not a command.",
     "one of: help, new, list, find, todo, show, owners"),
    ("show AI-999", "There is no initiative AI-999.", "/initiative show <KEY>"),
    ("show banana", "'banana' is not an initiative key; keys look like AI-12.", "/initiative show <KEY>"),
    ("show", "Say which initiative, for example AI-12.", "/initiative show <KEY>"),
    ("show AI-1 AI-2", "Only the key goes after the subcommand; remove 'AI-2'.", "/initiative show <KEY>"),
    ("reject AI-1", "Give a reason after AI-1.", "/initiative reject <KEY> <reason>"),
    ("retire AI-1", "Give a reason after AI-1.", "/initiative retire <KEY> <reason>"),
    ("new Alpha business=@maria", "'@maria' is not a mention; type @ and pick the person, as in business=@maria.",
     "/initiative new <title>"),
    ("owners AI-1 business=<@nobody>", "'@nobody' is not a mention", "/initiative owners <KEY>"),
    ("owners AI-1 maria", "'maria' is not a role=@person pair, such as business=@maria.", "/initiative owners"),
    ("owners AI-1 chef=<@UDEV>", "'chef' is not a role here.", "/initiative owners <KEY>"),
    ("new Alpha risk=extreme", "Risk must be one of low, medium, high; got 'extreme'.", "risk=low|medium|high"),
    ("new " + "x" * 151, "The title is 151 characters long; keep it within 150.", "/initiative new"),
    ("new " + "x" * 3100, "That command is 3104 characters long; keep it within 3000.", ""),
    ("list someday", "There is no stage 'someday'. Stages: idea, pilot, production, scaled.", "/initiative list"),
    ("show AI-1'; DROP TABLE initiative;--", "is not an initiative key", "/initiative show <KEY>"),
])
def test_bad_input_says_what_was_wrong_and_shows_the_usage(slack: Slack, runtime, text: str, says: str,
                                                           usage: str) -> None:
    slack.command("new Existing business=<@UMARIA|maria>")
    answer = slack.command(text)
    assert_one_private_answer(answer, limit=SHORT)
    assert says.replace("<", "&lt;").replace(">", "&gt;") in answer["text"]
    assert usage.replace("<", "&lt;").replace(">", "&gt;") in answer["text"]
    with runtime.transaction() as session:
        assert [i.title for i in session.exec(select(Initiative))] == ["Existing"]


def test_emoji_and_unicode_are_kept_as_typed(slack: Slack, runtime) -> None:
    answer = slack.command("new 🚀 Prévision des ventes 需求预测 business=<@UMARIA|maría>")
    assert "AI-1" in answer["text"]
    with runtime.transaction() as session:
        assert session.exec(select(Initiative)).one().title == "🚀 Prévision des ventes 需求预测"
    assert "🚀 Prévision des ventes 需求预测" in str(slack.command("show AI-1")["blocks"])


def test_markup_in_user_text_pings_nobody_and_stays_literal(slack: Slack, runtime) -> None:
    # Typed "@channel" arrives as <!channel>; typed "<!here>" arrives escaped. Neither may ping anyone.
    slack.command("new <!channel> &lt;!here&gt; *urgent* &amp; <https://evil.example|click> "
                  "business=<@UMARIA|maria> data=<@UDEV> eng=<@UERIN>")
    with runtime.transaction() as session:
        title = session.exec(select(Initiative)).one().title
    assert title == "@channel <!here> *urgent* & https://evil.example"
    slack.command("submit AI-1")
    slack.deliver()
    shown = [slack.command("show AI-1"), slack.command("list"), *slack.dms_to("UDEV")]
    for message in shown:
        assert "&lt;!here&gt;" in message["text"]
    assert unwanted_mentions(slack.emulator) == []  # every call and response_url post, not only those above



@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.one_of(
    st.sampled_from(["new", "list", "show", "owners", "submit", "approve", "reject", "pause", "resume", "retire",
                     "history", "help", "AI-1", "ai-2", "AI-", "business=", "eng=<@UDEV>", "data=@x", "risk=high",
                     "<@UERIN|erin>", "<@U1", "<!channel>", "&amp;", "&lt;", "<https://x.example|x>", "🚀", "\x00",
                     "'; DROP TABLE initiative;--", "*bold*", "`code`", "\n", "mine", "pilot", "AI-99999999999"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
), max_size=8))
def test_any_command_text_gets_one_short_private_answer(slack: Slack, runtime, words: list[str]) -> None:
    """Never a 500, always one short private answer, and nothing written when the answer is an error."""
    with runtime.transaction() as session:
        seeded = session.exec(select(Initiative)).first() is not None
    if not seeded:
        slack.command("new Seed business=<@UMARIA|maria> data=<@UDEV> eng=<@UERIN>")
    with runtime.transaction() as session:
        before = len(session.exec(select(AuditEvent)).all())
    answer = slack.command(" ".join(words), user="UMARIA", opens_modal=True)
    with runtime.transaction() as session:
        written = len(session.exec(select(AuditEvent)).all()) != before
    if not answer:  # a modal was opened instead (`new`, `approve`)
        assert not written
        return
    assert_one_private_answer(answer, limit=SHORT if "\nUsage:" in answer["text"] else ONE_MESSAGE)
    succeeded = re.match(r"(Recorded|Owners of \*AI-\d+\* updated|Review of|Changes requested|\*AI-\d+\* is )",
                         answer["text"])
    assert written == bool(succeeded), answer["text"]
