"""`/initiative digest list|add|edit|disable|enable` over signed HTTP against the emulator: what the caller sees
privately, what the database and the audit trail hold, and what the scheduler then does with the schedule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.adapters.digest import digest_tick
from bot.delivery.sender import make_client
from storage.models import AuditEvent, Digest
from tests.listeners.conftest import DIGEST_CHANNEL, Slack

ADD_CLAIMS = 'digest add claims <#CCLAIMS|claims-ai> cron="0 8 * * 2" tz=Europe/Berlin tag=GenAI'


@pytest.fixture(autouse=True)
def _channels(slack: Slack) -> None:
    """The channels the commands below name, each with the bot in it (Slack refuses the others when set)."""
    for channel_id, name in (("CCLAIMS", "claims-ai"), ("COPS", "ops"), ("CNEW", "new")):
        slack.emulator.add_channel(channel_id, name)


def digests(runtime) -> dict[str, tuple]:
    with runtime.transaction() as session:
        return {d.name: (d.channel_id, d.cron, d.timezone, d.filter_tag, d.filter_business_unit, d.enabled)
                for d in session.exec(select(Digest))}


def audit(runtime, prefix: str = "digest.") -> list[tuple]:
    with runtime.transaction() as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.seq))
        return [(e.actor, e.action, e.subject_key, e.before, e.after) for e in events if e.action.startswith(prefix)]


def started(slack: Slack, now: datetime) -> list[str]:
    """The digests the scheduler starts at `now` (the scheduler's own tick, reading the table as it stands)."""
    return digest_tick(slack.runtime, make_client(slack.runtime.settings), now=now).started


def test_an_admin_adds_lists_edits_disables_and_enables_and_the_scheduler_follows(slack: Slack) -> None:
    runtime = slack.runtime
    answer = slack.command(ADD_CLAIMS, user="UADMIN")
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Digest claims added.\nclaims → <#CCLAIMS> · tag genai · `0 8 * * 2` in "
                                     "Europe/Berlin · ")
    assert digests(runtime)["claims"] == ("CCLAIMS", "0 8 * * 2", "Europe/Berlin", "genai", None, True)
    assert audit(runtime) == [("UADMIN", "digest.added", "claims", None, {
        "channel": "CCLAIMS", "cron": "0 8 * * 2", "timezone": "Europe/Berlin", "tag": "genai",
        "business_unit": None})]

    listed = slack.command("digest list", user="UMARIA")["text"].splitlines()  # anyone may look
    assert [line.split(" → ")[0] for line in listed] == ["claims", "default"]
    assert listed[1].startswith(f"default → <#{DIGEST_CHANNEL}> · all initiatives · `0 9 * * 1` in UTC · ")

    # Tuesday 1 Dec 2026 08:00 Berlin is the added schedule.
    assert "claims 2026-W49" in started(slack, datetime(2026, 12, 1, 7, 0, tzinfo=UTC))

    answer = slack.command('digest edit claims <#COPS|ops> cron="30 7 * * 5" tz=America/New_York unit="Claims &amp; '
                           'Ops"', user="UADMIN")
    assert answer["text"].startswith("Digest claims changed.\nclaims → <#COPS> · team Claims &amp; Ops · "
                                     "`30 7 * * 5` in America/New_York · ")
    assert digests(runtime)["claims"] == ("COPS", "30 7 * * 5", "America/New_York", None, "Claims & Ops", True)
    assert audit(runtime)[-1] == ("UADMIN", "digest.edited", "claims",
                                  {"channel": "CCLAIMS", "cron": "0 8 * * 2", "timezone": "Europe/Berlin",
                                   "tag": "genai", "business_unit": None},
                                  {"channel": "COPS", "cron": "30 7 * * 5", "timezone": "America/New_York",
                                   "tag": None, "business_unit": "Claims & Ops"})
    # The next week: the old time (Tue 8 Dec 08:00 Berlin) starts nothing, the new one (Fri 11 Dec 07:30 New
    # York) does; no restart, the scheduler reads the table on each tick.
    assert not [s for s in started(slack, datetime(2026, 12, 8, 7, 0, tzinfo=UTC)) if s.startswith("claims")]
    assert "claims 2026-W50" in started(slack, datetime(2026, 12, 11, 12, 30, tzinfo=UTC))

    answer = slack.command("digest edit claims filter=none", user="UADMIN")
    assert "· all initiatives ·" in answer["text"]
    assert audit(runtime)[-1][3:] == ({"business_unit": "Claims & Ops"}, {"business_unit": None})

    answer = slack.command("digest disable claims", user="UADMIN")
    assert answer["text"] == ("Digest claims disabled.\nclaims → <#COPS> · all initiatives · `30 7 * * 5` in "
                              "America/New_York · disabled")
    friday = datetime(2026, 12, 18, 12, 30, tzinfo=UTC)  # Fri 18 Dec 07:30 New York
    assert not [s for s in started(slack, friday) if s.startswith("claims")]

    answer = slack.command("digest enable claims", user="UADMIN")
    assert answer["text"].startswith("Digest claims enabled.")
    assert "claims 2026-W51" in started(slack, friday)
    assert [a[1] for a in audit(runtime)] == ["digest.added", "digest.edited", "digest.edited", "digest.disabled",
                                              "digest.enabled"]
    assert audit(runtime)[-2][3:] == ({"enabled": True}, {"enabled": False})


def test_a_non_admin_is_refused_privately_and_nothing_changes(slack: Slack) -> None:
    slack.command(ADD_CLAIMS, user="UADMIN")
    before, trail = digests(slack.runtime), audit(slack.runtime, prefix="")
    for text, refusal in ((ADD_CLAIMS.replace("claims", "mine", 1), "Only an admin can add a digest."),
                          ("digest edit claims cron=\"0 7 * * 1\"", "Only an admin can change a digest."),
                          ("digest disable claims", "Only an admin can disable a digest."),
                          ("digest enable default", "Only an admin can enable a digest.")):
        answer = slack.command(text, user="UMARIA")
        assert (answer["response_type"], answer["text"]) == ("ephemeral", refusal)
    assert digests(slack.runtime) == before
    assert audit(slack.runtime, prefix="") == trail
    assert not slack.emulator.calls_to("chat.postMessage")


@pytest.mark.parametrize(("text", "said"), [
    ('digest add weekly <#CNEW|new> cron="0 25 * * 1"', "'0 25 * * 1' is not a cron expression; Monday 09:00 is "),
    ('digest add weekly <#CNEW|new> cron="0 9 1 * *"', "'0 9 1 * *' does not fire every week; keep the day-of-month"),
    ("digest add weekly <#CNEW|new> tz=Mars/Olympus", "'Mars/Olympus' is not a time zone; use an IANA name such as "),
    ("digest add weekly #claims", "There is no channel #claims that the bot can see. Check the name; if the "),
    ("digest add weekly C42", "Slack has no channel C42 that the bot can see. If it is private, type /invite "),
    ("digest add weekly", "Say which channel digest weekly posts to, for example"),
    ("digest add claims <#CNEW|new>", "There is already a digest named claims; pick another name, or change that "),
    ("digest add edit <#CNEW|new>", "'edit' is a command word; name the digest something else"),
    ("digest add two&amp;words <#CNEW|new>", "'two&amp;words' cannot name a digest; use one word of letters"),
    ("digest add weekly <#CNEW|new> tag=genai unit=Claims", "Filter a digest by a tag or by a team, not both."),
    ("digest edit nosuch tz=UTC", "There is no digest named nosuch. `/initiative digest list` shows them"),
    ("digest edit claims", "Say what to change about digest claims: its channel, cron, zone or filter."),
    ("digest edit claims tz=Europe/Berlin", "Digest claims already has those settings; nothing changed."),
    ("digest edit claims tz=Nowhere/Land cron=\"0 6 * * 1\"", "'Nowhere/Land' is not a time zone"),
    ("digest edit claims frequency=daily", "'frequency=' is not an option; use cron=, tz=, tag=, unit= or "),
    ('digest edit claims cron="0 9 * * 1', "Close the quote after cron=, as in cron="),
    ("digest edit claims filter=all", "`filter=` takes only `none`; filter by `tag=…` or `unit=…`."),
    ("digest edit default <#CNEW|new>", "The default digest posts to DIGEST_CHANNEL; change that setting to move it"),
    ("digest claims extra", "Say `digest &lt;name&gt;` to preview one"),
])
def test_bad_input_gets_one_private_line_with_the_usage_and_writes_nothing(slack: Slack, text, said) -> None:
    slack.command(ADD_CLAIMS, user="UADMIN")
    slack.command("digest list", user="UADMIN")  # the default digest exists from here on
    before, trail = digests(slack.runtime), audit(slack.runtime, prefix="")
    answer = slack.command(text, user="UADMIN")
    assert answer["response_type"] == "ephemeral"
    message, usage = answer["text"].split("\nUsage: ")
    assert message.startswith(said), message
    assert "\n" not in message
    assert usage.startswith("/initiative digest [&lt;name&gt;]")
    assert "/initiative digest edit &lt;name&gt; [#channel]" in usage
    assert digests(slack.runtime) == before
    assert audit(slack.runtime, prefix="") == trail


def test_a_channel_typed_by_name_is_stored_as_its_id(slack: Slack) -> None:
    """Typed without Slack's autocomplete, `#claims-ai` arrives as plain text; a private channel counts too."""
    slack.emulator.add_channel("GPRIV", "board-only", is_private=True)
    answer = slack.command("digest add claims #claims-ai tag=genai", user="UADMIN")
    assert answer["text"].startswith("Digest claims added.\nclaims → <#CCLAIMS> · tag genai")
    slack.command("digest edit claims #board-only", user="UADMIN")
    assert digests(slack.runtime)["claims"][0] == "GPRIV"
    lookups = slack.emulator.calls_to("conversations.list")
    assert lookups and all(c.params["types"] == "public_channel,private_channel" for c in lookups)


@pytest.mark.parametrize(("channel", "said"), [
    ("#ai-outside", "The bot is not in #ai-outside. In that channel, type /invite @Initiative Bot, then try again."),
    ("<#COUT|ai-outside>", "The bot is not in #ai-outside. In that channel, type /invite @Initiative Bot, then try "
                           "again."),
    ("<#COLD|old-news>", "#old-news is archived; pick another channel, or unarchive it first."),
    ("#secret", "There is no channel #secret that the bot can see. Check the name; if the channel is private, type "
                "/invite @Initiative Bot in it, then try again."),
])
def test_a_channel_the_bot_cannot_post_to_is_refused_when_it_is_set(slack: Slack, channel, said) -> None:
    slack.emulator.add_channel("COUT", "ai-outside", is_member=False)
    slack.emulator.add_channel("COLD", "old-news", is_archived=True)
    slack.emulator.add_channel("GSECRET", "secret", is_member=False, is_private=True)
    answer = slack.command(f"digest add claims {channel}", user="UADMIN")
    assert answer["text"].split("\nUsage: ")[0] == said
    slack.command(ADD_CLAIMS, user="UADMIN")
    answer = slack.command(f"digest edit claims {channel}", user="UADMIN")
    assert answer["text"].split("\nUsage: ")[0] == said
    assert digests(slack.runtime)["claims"][0] == "CCLAIMS"


def test_a_non_admin_naming_a_channel_learns_nothing_about_it(slack: Slack) -> None:
    answer = slack.command("digest add mine #secret", user="UMARIA")
    assert answer["text"] == "Only an admin can add a digest."
    assert not slack.emulator.calls_to("conversations.list") and not slack.emulator.calls_to("conversations.info")


def test_enabling_an_enabled_digest_says_so_without_a_change(slack: Slack) -> None:
    slack.command(ADD_CLAIMS, user="UADMIN")
    trail = audit(slack.runtime)
    answer = slack.command("digest enable claims", user="UADMIN")
    assert answer["text"] == "Digest claims is already enabled."
    assert audit(slack.runtime) == trail


def test_preview_still_works_and_names_cannot_shadow_the_subcommands(slack: Slack) -> None:
    slack.command(ADD_CLAIMS, user="UADMIN")
    assert "AI portfolio digest · week" in slack.command("digest claims")["text"]
    assert "AI portfolio digest · week" in slack.command("digest")["text"]
    assert slack.command("digest list")["text"].startswith("claims → ")
