"""`initiative-bot digest-add|digest-list|digest-edit|digest-disable|digest-enable` on both backends: the same
service functions as `/initiative digest …`, one line per error, every change audited under the CLI login."""

from __future__ import annotations

import getpass

from sqlmodel import select

from bot.cli import main
from storage.models import AuditEvent, Digest

OPERATOR = f"cli:{getpass.getuser()}"[:32]


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
    assert out.startswith("Digest claims added.\nclaims → CCLAIMS · tag genai · `0 8 * * 2` in Europe/Berlin · ")

    assert main(["digest-edit", "claims", "--channel", "COPS", "--cron", "30 7 * * 5", "--timezone",
                 "America/New_York", "--business-unit", "Claims & Ops"]) == 0
    assert capsys.readouterr().out.startswith(
        "Digest claims changed.\nclaims → COPS · team Claims & Ops · `30 7 * * 5` in America/New_York · ")
    digest = _digest(runtime)
    assert (digest.channel_id, digest.cron, digest.timezone, digest.filter_tag, digest.filter_business_unit) == (
        "COPS", "30 7 * * 5", "America/New_York", None, "Claims & Ops")

    assert main(["digest-edit", "claims", "--no-filter"]) == 0
    assert main(["digest-disable", "claims"]) == 0
    assert capsys.readouterr().out.endswith("· `30 7 * * 5` in America/New_York · disabled\n")
    assert main(["digest-list"]) == 0
    assert capsys.readouterr().out == "claims → COPS · all initiatives · `30 7 * * 5` in America/New_York · disabled\n"
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
        (["digest-add", "claims", "--channel", "C2"], "'C2' is not a channel; pick one as you type #, or give "),
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
        assert captured.err.startswith(f"initiative-bot: {said}"), captured.err
        assert captured.err.count("\n") == 1 and not captured.out
    digest = _digest(runtime)
    assert (digest.channel_id, digest.cron, digest.timezone, digest.enabled) == ("CCLAIMS", "0 9 * * 1", "UTC", True)
    assert _audit(runtime) == before


def test_the_default_digest_follows_digest_channel(runtime, monkeypatch, capsys):
    monkeypatch.setenv("DIGEST_CHANNEL", "CDIGEST")
    assert main(["digest-edit", "default", "--timezone", "Europe/Berlin"]) == 0
    assert "default → CDIGEST · all initiatives · `0 9 * * 1` in Europe/Berlin" in capsys.readouterr().out
    assert main(["digest-edit", "default", "--channel", "COTHER"]) == 1
    assert capsys.readouterr().err.startswith(
        "initiative-bot: The default digest posts to DIGEST_CHANNEL; change that setting to move it")
