"""`/initiative` text -> typed commands, and the subcommand registry (pure, no Slack, no database)."""

from __future__ import annotations

import pytest

from bot.commands.grammar import (
    FindCommand,
    KeyCommand,
    ListCommand,
    NewCommand,
    OwnersCommand,
    parse_find,
    parse_key_command,
    parse_list,
    parse_new,
    parse_owners,
)
from bot.commands.registry import Arguments, Reply, Subcommand, SubcommandTable, UsageError
from bot.commands.text import tokenize, unescape


def args(raw: str) -> Arguments:
    return Arguments(tuple(tokenize(raw)))


def test_mentions_arrive_in_both_forms_and_links_and_ampersands_are_unescaped() -> None:
    tokens = tokenize("<@U0123ABC|maria> <@W9ABC> <https://a.example/x?a=1&amp;b=2|doc> R&amp;D <#C42|general> "
                      "<https://b.example/y?c=1&amp;d=2>")
    assert [t.user_id for t in tokens[:2]] == ["U0123ABC", "W9ABC"]
    assert [t.text for t in tokens] == ["@maria", "@W9ABC", "https://a.example/x?a=1&b=2", "R&D", "#general",
                                        "https://b.example/y?c=1&d=2"]
    assert tokens[4].channel_id == "C42"
    assert unescape("&lt;!channel&gt; <!here> <!subteam^S1|@ml-team>") == "<!channel> @here @ml-team"


def test_a_mention_with_a_space_in_its_name_stays_one_token() -> None:
    assert [t.user_id for t in tokenize("business=<@U0MARIA|maria garcia> x")] == [None, None]
    assert parse_owners(args("AI-3 business=<@U0MARIA|maria garcia>")).owners == {"business": "U0MARIA"}


def test_control_characters_are_dropped() -> None:
    assert [t.text for t in tokenize("new\x00 Alpha\x07\r\nBeta")] == ["new", "Alpha", "Beta"]


def test_new_parses_title_owners_and_risk_in_any_order() -> None:
    assert parse_new(args("")) == NewCommand(title=None)
    parsed = parse_new(args("risk=HIGH Fraud x=y scoring eng=<@U0ERIN> business=<@U0MARIA|m>"))
    assert parsed == NewCommand(title="Fraud x=y scoring", owners={"engineering": "U0ERIN", "business": "U0MARIA"},
                                risk_tier="high")


@pytest.mark.parametrize(("text", "message"), [
    ("business=<@U0MARIA>", "Give the initiative a title before its owners"),
    ("Alpha business=@maria", "'@maria' is not a mention"),
    ("Alpha business=", "Give business= a person"),
    ("Alpha risk=", "Give risk= a tier"),
])
def test_new_refuses_what_it_cannot_use(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_new(args(text))


def test_key_commands_take_a_key_and_maybe_a_reason() -> None:
    assert parse_key_command(args(" ai-7 ")) == KeyCommand(key="AI-7")
    assert parse_key_command(args("AI-7 too &lt;b&gt;risky&lt;/b&gt; &amp; late"), text="required") == KeyCommand(
        key="AI-7", text="too <b>risky</b> & late")
    with pytest.raises(UsageError, match="Give a reason after AI-7"):
        parse_key_command(args("AI-7"), text="required")
    with pytest.raises(UsageError, match="Only the key goes after the subcommand"):
        parse_key_command(args("AI-7 extra"))
    with pytest.raises(UsageError, match="'AI-x' is not an initiative key"):
        parse_key_command(args("AI-x"))


def test_find_keeps_what_was_typed_and_takes_mentions_as_owners() -> None:
    assert parse_find(args('churn "model <@U0MARIA|maria> OR -x* &lt;b&gt;')) == FindCommand(
        words=("churn", '"model', "OR", "-x*", "<b>"), owners=("U0MARIA",))
    with pytest.raises(UsageError, match="Say what to look for"):
        parse_find(args(""))


def test_list_and_owners() -> None:
    assert parse_list(args("")) == ListCommand()
    assert parse_list(args("Pilot")) == ListCommand(scope="pilot")
    with pytest.raises(UsageError):
        parse_list(args("pilot mine"))
    assert parse_owners(args("AI-1 data=<@U0MARIA> sponsor=<@U0ERIN|s>")) == OwnersCommand(
        key="AI-1", owners={"data": "U0MARIA", "sponsor": "U0ERIN"})
    with pytest.raises(UsageError, match="Name at least one owner"):
        parse_owners(args("AI-1"))


def test_the_list_of_subcommands_is_the_help_and_names_are_found_in_any_case() -> None:
    def example(ctx: object, arguments: Arguments) -> Reply:
        return Reply(text="example")

    first = Subcommand("first", example, usage=("/initiative first", "/initiative first again"))
    hidden = Subcommand("hidden", example, usage=("/initiative hidden",), help_lines=())
    last = Subcommand("example", example, usage=("/initiative example [now]",))
    table = SubcommandTable((first, hidden, last))

    assert table.help_text().splitlines() == ["/initiative first", "/initiative first again",
                                              "/initiative example [now]"]
    assert table.find("EXAMPLE") is last and table.find("nope") is None
    assert table.usage_of("hidden") == "/initiative hidden" and table.usage_of("nope") == "/initiative help"
    with pytest.raises(ValueError, match="listed twice"):
        SubcommandTable((first, last, Subcommand("example", example, usage=("x",))))
