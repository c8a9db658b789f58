"""`initiative-bot digest-add|digest-list|digest-edit|digest-disable|digest-enable` on both backends: the same
service functions as `/initiative digest …`, one line per error, every change audited under the CLI login."""

from __future__ import annotations

import getpass
from collections.abc import Iterator

import pytest
from sqlmodel import select

from bot.cli import main
from slack_emulator import SlackEmulator
from storage.models import AuditEvent, Digest
from tests.support.factories import TEAM

OPERATOR = f"cli:{getpass.getuser()}"[:32]


@pytest.fixture(autouse=True)
def slack(runtime, monkeypatch, tmp_path) -> Iterator[SlackEmulator]:
    """The bot token and Slack (an emulator) that the commands check channels with."""
    monkeypatch.chdir(tmp_path)  # no developer's .env
    with SlackEmulator(team_id=TEAM) as emulator:  # the token's workspace is the database's
        emulator.add_channel("CCLAIMS", "claims-ai")
        emulator.add_channel("COPS", "ops")
        emulator.add_channel("CDIGEST", "ai-portfolio")
        emulator.add_channel("COTHER", "other")
        monkeypatch.setenv("SLACK_BOT_TOKEN", emulator.bot_token)
        monkeypatch.setenv("SLACK_API_URL", emulator.base_url)
        yield emulator


def _digest(runtime, name="claims") -> Digest:
    with runtime.transaction() as session:
        return session.exec(select(Digest).where(Digest.name == name)).one()


def _audit(runtime) -> list[tuple]:
    with runtime.transaction() as session:
        return [(e.actor, e.action, e.subject_key, e.before, e.after)
                for e in session.exec(select(AuditEvent).order_by(AuditEvent.seq)) if e.action.startswith("digest.")]


def test_add_list_edit_disable_enable(runtime, capsys):
    assert main(["digest-add", "claims", "--channel", "CCLAIMS", "--cron", "0 8 * * 2", "--timezone",
                 "Europe/Berlin", "--tag", "genai"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Digest claims added.\nclaims → #claims-ai · tag genai · `0 8 * * 2` in Europe/Berlin · ")

    assert main(["digest-edit", "claims", "--channel", "#ops", "--cron", "30 7 * * 5", "--timezone",
                 "America/New_York", "--business-unit", "Claims & Ops"]) == 0
    assert capsys.readouterr().out.startswith(
        "Digest claims changed.\nclaims → #ops · team Claims & Ops · `30 7 * * 5` in America/New_York · ")
    digest = _digest(runtime)
    assert (digest.channel_id, digest.cron, digest.timezone, digest.filter_tag, digest.filter_business_unit) == (
        "COPS", "30 7 * * 5", "America/New_York", None, "Claims & Ops")

    assert main(["digest-edit", "claims", "--no-filter"]) == 0
    assert main(["digest-disable", "claims"]) == 0
    assert capsys.readouterr().out.endswith("· `30 7 * * 5` in America/New_York · disabled\n")
    assert main(["digest-list"]) == 0
    assert capsys.readouterr().out == "claims → #ops · all initiatives · `30 7 * * 5` in America/New_York · disabled\n"
    assert main(["digest-enable", "claims"]) == 0
    assert _digest(runtime).enabled

    trail = _audit(runtime)
    assert [(actor, action) for actor, action, *_ in trail] == [
        (OPERATOR, "digest.added"), (OPERATOR, "digest.edited"), (OPERATOR, "digest.edited"),
        (OPERATOR, "digest.disabled"), (OPERATOR, "digest.enabled")]
    assert trail[1][3:] == ({"channel": "CCLAIMS", "cron": "0 8 * * 2", "timezone": "Europe/Berlin", "tag": "genai",
                             "business_unit": None},
                            {"channel": "COPS", "cron": "30 7 * * 5", "timezone": "America/New_York", "tag": None,
                             "business_unit": "Claims & Ops"})
    assert trail[2][3:] == ({"business_unit": "Claims & Ops"}, {"business_unit": None})


def test_errors_are_one_line_and_change_nothing(runtime, capsys):
    assert main(["digest-add", "claims", "--channel", "CCLAIMS"]) == 0
    capsys.readouterr()
    before = _audit(runtime)
    for argv, said in (
        (["digest-add", "claims", "--channel", "two words"], "'two words' is not a channel; give its name, like "
                                                              "#ai-portfolio, or its ID"),
        (["digest-add", "weekly", "--channel", "#nowhere"], "There is no channel #nowhere that the bot can see."),
        (["digest-add", "claims", "--channel", "CCLAIMS"], "There is already a digest named claims; pick another "),
        (["digest-add", "disable", "--channel", "CCLAIMS"], "'disable' is a command word; name the digest "),
        (["digest-edit", "claims", "--cron", "0 9 * * 1", "--timezone", "Europe/Nowhere"],
         "'Europe/Nowhere' is not a time zone; use an IANA name such as Europe/Berlin."),
        (["digest-edit", "claims", "--cron", "0 9 *"], "'0 9 *' is not a cron expression; Monday 09:00 is "),
        (["digest-edit", "claims"], "Say what to change about digest claims: its channel, cron, zone or filter."),
        (["digest-edit", "weekly", "--tag", "genai"], "There is no digest named weekly."),
        (["digest-enable", "claims"], "Digest claims is already enabled."),
    ):
        assert main(argv) == 1, argv
        captured = capsys.readouterr()
        *told, error = captured.err.splitlines()
        assert error.startswith(f"initiative-bot: {said}"), captured.err
        # The only other line says which workspace the command acted on (issue 15: set up before Slack).
        assert all(line.startswith("initiative-bot: workspace T") for line in told) and len(told) <= 1
        assert not captured.out
    digest = _digest(runtime)
    assert (digest.channel_id, digest.cron, digest.timezone, digest.enabled) == ("CCLAIMS", "0 9 * * 1", "UTC", True)
    assert _audit(runtime) == before


def test_the_default_digest_follows_digest_channel(runtime, monkeypatch, capsys):
    monkeypatch.setenv("DIGEST_CHANNEL", "#ai-portfolio")
    assert main(["digest-edit", "default", "--timezone", "Europe/Berlin"]) == 0
    assert "default → #ai-portfolio · all initiatives · `0 9 * * 1` in Europe/Berlin" in capsys.readouterr().out
    assert _digest(runtime, "default").channel_id == "CDIGEST"  # the ID is stored, the name shown
    assert main(["digest-edit", "default", "--channel", "COTHER"]) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith(  # after the line naming the workspace
        "initiative-bot: The default digest posts to DIGEST_CHANNEL; change that setting to move it")


def test_a_channel_the_bot_is_not_in_is_refused_with_the_fix(slack, runtime, capsys):
    slack.add_channel("CPORT", "ai-portfolio-2", is_member=False)
    for channel in ("#ai-portfolio-2", "CPORT"):
        assert main(["digest-add", "claims", "--channel", channel]) == 1
        assert capsys.readouterr().err == ("initiative-bot: The bot is not in #ai-portfolio-2. In that channel, type "
                                           "/invite @Initiative Bot, then try again.\n")
    slack.add_channel("CPORT", "ai-portfolio-2")  # the bot is invited
    assert main(["digest-add", "claims", "--channel", "#ai-portfolio-2"]) == 0
    assert _digest(runtime).channel_id == "CPORT"


def test_a_name_beyond_the_first_page_of_channels_is_found(slack, runtime, capsys):
    for n in range(1200):  # conversations.list gives at most 1,000 a page
        slack.add_channel(f"CX{n:05d}", f"team-{n}")
    assert main(["digest-add", "claims", "--channel", "#team-1100"]) == 0
    assert _digest(runtime).channel_id == "CX01100"
    first, second = slack.calls_to("conversations.list")
    assert first.params.get("cursor") is None
    assert second.params["cursor"] == first.response["response_metadata"]["next_cursor"]
    assert first.params["exclude_archived"] in ("1", "true", True)


def test_without_a_bot_token_a_channel_cannot_be_checked(slack, monkeypatch, capsys):
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    assert main(["digest-add", "claims", "--channel", "#claims-ai"]) == 2
    assert capsys.readouterr().err.startswith("initiative-bot: SLACK_BOT_TOKEN is not set: expected the bot token, "
                                              "with which the bot checks that it is in the channel")
