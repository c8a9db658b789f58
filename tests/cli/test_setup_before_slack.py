"""Setting a workspace up before Slack's first request: on a fresh database (SQLite and PostgreSQL), each set-up
verb acts on the workspace named by --team, SLACK_TEAM_ID or the bot token (auth.test, answered by the emulator),
says which one decided, and refuses when two of them disagree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.cli import main
from bot.services.gates.catalog import default_document
from bot.services.gates.yaml_file import dump_gates_yaml
from slack_emulator import SlackEmulator
from storage.db import make_engine
from storage.models import AppAdmin, AuditEvent, Digest, GateDefinitionVersion, WebhookEndpoint, Workspace
from tests.support.dns import fake_dns  # noqa: F401  (webhooks add resolves its host from the test's table)

SETUP_TEAM = "T0SETUP"


def _gates_file(tmp_path: Path) -> Path:
    """The default gates with the first stage renamed: importing it makes version 2."""
    document = default_document()
    document["stages"][0]["name"] = "Ideas"
    file = tmp_path / "gates.yml"
    file.write_text(dump_gates_yaml(document, header="test"), encoding="utf-8")
    return file


def _gates_imported(session: Session, team_id: str) -> bool:
    versions = session.exec(select(GateDefinitionVersion).where(GateDefinitionVersion.team_id == team_id)).all()
    return sorted(v.version for v in versions) == [1, 2] and versions[-1].created_by.startswith("cli:")


def _admin_added(session: Session, team_id: str) -> bool:
    admins = session.exec(select(AppAdmin).where(AppAdmin.team_id == team_id)).all()
    audited = session.exec(
        select(AuditEvent).where(AuditEvent.team_id == team_id, AuditEvent.action == "admin.added")
    ).all()
    return [a.user_id for a in admins] == ["UMARIA"] and [e.subject_key for e in audited] == ["UMARIA"]


VERBS: dict[str, tuple[Callable[[Path], list[str]], Callable[[Session, str], bool]]] = {
    "gates import": (lambda tmp: ["gates", "import", str(_gates_file(tmp))], _gates_imported),
    "webhooks add": (
        lambda tmp: ["webhooks", "add", "https://hooks.example.com/x"],
        lambda session, team: (
            [w.url for w in session.exec(select(WebhookEndpoint).where(WebhookEndpoint.team_id == team))]
            == ["https://hooks.example.com/x"]
        ),
    ),
    "admins add": (lambda tmp: ["admins", "add", "UMARIA"], _admin_added),
}


@pytest.fixture
def fresh(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A migrated database that no Slack request has reached, and an environment without Slack settings."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("SLACK_BOT_TOKEN", "SLACK_TEAM_ID", "SLACK_API_URL", "ADMIN_USER_IDS", "DIGEST_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def _workspaces(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(Workspace.team_id)))
    finally:
        engine.dispose()


def _holds(database_url: str, check: Callable[[Session, str], bool], team_id: str) -> bool:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return check(session, team_id)
    finally:
        engine.dispose()


def _digests_of(database_url: str, team: str) -> list[str]:
    return _holds(database_url, lambda session, team: [d.name for d in session.exec(
        select(Digest).where(Digest.team_id == team))], team)


def _use_token(monkeypatch: pytest.MonkeyPatch, emulator: SlackEmulator) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", emulator.bot_token)
    monkeypatch.setenv("SLACK_API_URL", emulator.base_url)


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("source", ["--team", "SLACK_TEAM_ID", "the bot token (auth.test)"])
def test_each_setup_verb_works_on_a_fresh_database_and_says_where_the_workspace_came_from(
    fresh: str,
    verb: str,
    source: str,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv, done = VERBS[verb]
    team = SETUP_TEAM
    if source == "--team":
        extra = ["--team", SETUP_TEAM]
    else:
        extra = []
        if source == "SLACK_TEAM_ID":
            monkeypatch.setenv("SLACK_TEAM_ID", SETUP_TEAM)
        else:
            _use_token(monkeypatch, slack_emulator)
            team = slack_emulator.team_id

    assert main([*argv(tmp_path), *extra]) == 0, capsys.readouterr().err

    said = capsys.readouterr().err.splitlines()
    assert said[0] == f"initiative-bot: workspace {team} (from {source}); new in this database, with the default gates"
    assert _workspaces(fresh) == [team]
    assert _holds(fresh, done, team)
    if source == "the bot token (auth.test)":
        assert [call.method for call in slack_emulator.calls] == ["auth.test"]


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("disagreement", ["--team and SLACK_TEAM_ID", "SLACK_TEAM_ID and the bot token"])
def test_two_sources_that_disagree_stop_the_verb_before_it_writes_anything(
    fresh: str,
    verb: str,
    disagreement: str,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv, _ = VERBS[verb]
    monkeypatch.setenv("SLACK_TEAM_ID", SETUP_TEAM)
    if disagreement == "--team and SLACK_TEAM_ID":
        extra, expected = ["--team", "T0OTHER"], f"--team says T0OTHER; SLACK_TEAM_ID says {SETUP_TEAM}"
    else:
        token_says = f"the bot token (auth.test) says {slack_emulator.team_id}"
        extra, expected = [], f"SLACK_TEAM_ID says {SETUP_TEAM}; {token_says}"
        _use_token(monkeypatch, slack_emulator)

    assert main([*argv(tmp_path), *extra]) == 2

    assert capsys.readouterr().err == (
        f"initiative-bot: which workspace? {expected}. Make them agree, or leave out the wrong one\n"
    )
    assert _workspaces(fresh) == []


def test_sources_that_agree_are_all_asked_and_the_first_is_named(
    fresh: str,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SLACK_TEAM_ID", slack_emulator.team_id)
    _use_token(monkeypatch, slack_emulator)

    assert main(["admins", "add", "UMARIA", "--team", slack_emulator.team_id]) == 0

    assert capsys.readouterr().err.startswith(f"initiative-bot: workspace {slack_emulator.team_id} (from --team);")
    assert [call.method for call in slack_emulator.calls] == ["auth.test"]


def test_a_token_slack_refuses_stops_the_verb_in_one_line(
    fresh: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with SlackEmulator(bot_token="xoxb-the-real-one") as emulator:
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
        monkeypatch.setenv("SLACK_API_URL", emulator.base_url)

        assert main(["admins", "add", "UMARIA", "--team", SETUP_TEAM]) == 2

    assert capsys.readouterr().err == (
        "initiative-bot: SLACK_BOT_TOKEN was refused by Slack (invalid_auth): expected "
        "the bot token from OAuth & Permissions\n"
    )
    assert _workspaces(fresh) == []


def test_with_nothing_to_name_the_workspace_a_fresh_database_says_how(
    fresh: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["admins", "list"]) == 2
    assert capsys.readouterr().err == (
        "initiative-bot: which workspace? This database holds no workspace yet: pass --team T…, or set "
        "SLACK_TEAM_ID or SLACK_BOT_TOKEN\n"
    )


def test_a_badly_formed_team_is_refused_by_the_parser(fresh: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["admins", "list", "--team", "acme"])
    assert exit_.value.code == 2
    assert "'acme' is not a Slack workspace ID; expected one like T012AB3CD" in capsys.readouterr().err


def test_gates_export_shows_the_default_gates_of_a_workspace_nothing_has_happened_in(
    fresh: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["gates", "export", "--team", SETUP_TEAM]) == 0
    exported = capsys.readouterr().out
    assert exported.startswith(f"# Gate definitions of workspace {SETUP_TEAM}, version 1.")
    assert "idea-to-pilot" in exported


def test_admins_added_on_the_command_line_are_listed_removed_and_audited(
    fresh: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SLACK_TEAM_ID", SETUP_TEAM)
    monkeypatch.setenv("ADMIN_USER_IDS", "UBOSS")
    assert main(["admins", "add", "UMARIA"]) == 0
    assert capsys.readouterr().out == f"UMARIA is now an admin of workspace {SETUP_TEAM}.\n"

    assert main(["admins", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[:2] == ["Admins", "UBOSS · ADMIN_USER_IDS"]
    assert listed[2].startswith("UMARIA · added by cli:") and listed[2].endswith(" UTC")

    assert main(["admins", "remove", "UBOSS"]) == 1  # given by the settings: only the settings take it back
    assert "remove them from that setting" in capsys.readouterr().err
    assert main(["admins", "remove", "UMARIA"]) == 0
    assert capsys.readouterr().out == f"UMARIA is no longer an admin of workspace {SETUP_TEAM}.\n"

    engine = make_engine(fresh)
    with Session(engine) as session:
        assert session.exec(select(AppAdmin)).all() == []
        actions = [
            (e.action, e.subject_key, e.actor[:4])
            for e in session.exec(select(AuditEvent).where(AuditEvent.subject_type == "admin").order_by(AuditEvent.id))
        ]
    engine.dispose()
    assert actions == [("admin.added", "UMARIA", "cli:"), ("admin.removed", "UMARIA", "cli:")]


# `digest-add` also works before Slack's first request, but not without the bot token: the channel it is given is
# checked in Slack when it is set (it exists, and the bot is in it), so its workspace is the token's.
@pytest.mark.parametrize("source", ["--team", "SLACK_TEAM_ID"])
def test_digest_add_works_on_a_fresh_database_with_the_token_and_a_source_that_agrees(
    fresh: str,
    source: str,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _use_token(monkeypatch, slack_emulator)
    slack_emulator.add_channel("CCLAIMS", "claims")
    team = slack_emulator.team_id
    extra = ["--team", team] if source == "--team" else []
    if source == "SLACK_TEAM_ID":
        monkeypatch.setenv("SLACK_TEAM_ID", team)

    assert main(["digest-add", "claims", "--channel", "#claims", *extra]) == 0, capsys.readouterr().err

    assert capsys.readouterr().err.splitlines()[0] == (
        f"initiative-bot: workspace {team} (from {source}); new in this database, with the default gates")
    assert _digests_of(fresh, team) == ["claims"]


def test_digest_add_without_the_token_or_with_a_disagreeing_workspace_writes_nothing(
    fresh: str,
    slack_emulator: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slack_emulator.add_channel("CCLAIMS", "claims")
    assert main(["digest-add", "claims", "--channel", "CCLAIMS", "--team", SETUP_TEAM]) == 2
    assert "SLACK_BOT_TOKEN is not set" in capsys.readouterr().err

    _use_token(monkeypatch, slack_emulator)
    monkeypatch.setenv("SLACK_TEAM_ID", SETUP_TEAM)
    assert main(["digest-add", "claims", "--channel", "CCLAIMS"]) == 2
    assert capsys.readouterr().err == (
        f"initiative-bot: which workspace? SLACK_TEAM_ID says {SETUP_TEAM}; the bot token (auth.test) says "
        f"{slack_emulator.team_id}. Make them agree, or leave out the wrong one\n")
    assert _workspaces(fresh) == []
