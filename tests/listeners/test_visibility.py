"""Every place that shows initiatives asks the one rule (`bot.services.access.visibility`): with a confidential-
style rule swapped in for that one function, the hidden initiative disappears from every listing, search, report,
export and channel post, over signed HTTP against the Slack emulator, while the person allowed still sees it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.cli import main
from bot.jobs.digest import start_run
from bot.services.access import visibility
from bot.services.access.actors import Actor
from bot.services.access.visibility import Audience
from bot.services.digest.definitions import ensure_default_digests
from bot.services.initiatives.portfolio import portfolio_by_stage
from bot.services.reviews import lifecycle
from bot.views import ids
from storage.models import Digest, EvidenceCheck, Initiative, SignOff, StageTransition
from storage.types import utcnow
from tests.listeners.conftest import DIGEST_CHANNEL, Slack
from tests.listeners.test_home import open_home
from tests.listeners.test_sign_off_round_trip import approve_from_dm

OWNERS = "business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin>"
SECRET = "Secret plan"
BROKEN_LINK = "https://docs.example.com/gone"


def only_maria_sees_the_secret_plan(audience: Audience, initiative: Any) -> Any:
    same_workspace = initiative.team_id == audience.team_id
    if audience.user_id == "UMARIA":
        return same_workspace
    return same_workspace & (initiative.title != SECRET)


@pytest.fixture
def confidential(slack: Slack, monkeypatch: pytest.MonkeyPatch) -> Slack:
    """AI-1 "Public model" and AI-2 "Secret plan", both owned by Maria, Dev and Erin; then the rule becomes: only
    Maria may see the secret plan (not Dev, not a channel, not the workspace as a whole)."""
    for title in ("Public model", SECRET):
        assert "Recorded" in slack.command(f"new {title} {OWNERS}")["text"]
    monkeypatch.setattr(visibility, "_rule", only_maria_sees_the_secret_plan)
    return slack


def _hidden(answer: Any) -> bool:
    return "AI-2" not in str(answer) and SECRET not in str(answer)


def test_lists_cards_home_and_digest_preview_leave_it_out_for_whoever_may_not_see_it(confidential: Slack) -> None:
    slack = confidential
    for scope in ("list", "list all", "list mine", "list idea"):
        dev = slack.command(scope, user="UDEV")
        assert "AI-1" in dev["text"] and _hidden(dev), scope
        assert "(1)" in str(dev["blocks"]), scope  # the count, too
        assert "AI-2" in slack.command(scope, user="UMARIA")["text"], scope

    for verb in ("show", "history"):
        missing = slack.command(f"{verb} AI-9", user="UDEV")["text"]
        assert "There is no initiative AI-9" in missing
        assert slack.command(f"{verb} AI-2", user="UDEV")["text"] == missing.replace("AI-9", "AI-2"), verb
        maria = slack.command(f"{verb} AI-2", user="UMARIA")
        assert "AI-2" in str(maria["blocks"]) and "no initiative" not in maria["text"], verb

    dev_home = open_home(slack, "UDEV")
    assert "Public model" in str(dev_home["blocks"]) and _hidden(dev_home["blocks"])
    assert SECRET in str(open_home(slack, "UMARIA")["blocks"])

    dev_preview = slack.command("digest", user="UDEV")
    assert "AI-1" in dev_preview["text"] and _hidden(dev_preview)
    assert SECRET in slack.command("digest", user="UMARIA")["text"]

    card = slack.command("show AI-2", user="UMARIA")
    share = next(e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"])
    _, response_url = slack.click(ids.SHARE_TO_CHANNEL, share["value"], user="UMARIA", channel="C0001")
    refused = slack.answer_at(response_url)
    assert refused["response_type"] == "ephemeral"
    assert refused["text"] == "AI-2 cannot be shared here: not everyone in this channel may see it."

    with slack.runtime.transaction() as session:
        for initiative in session.exec(select(Initiative)).all():  # both into Pilot, 120 days ago
            lifecycle.move_stage(session, actor=Actor(slack.emulator.team_id, "UADMIN", is_admin=True),
                                 initiative=initiative, to_stage="pilot", reason="imported")
            initiative.stage_entered_at = utcnow() - timedelta(days=120)
            session.get(StageTransition, initiative.current_transition_id).at = initiative.stage_entered_at
    for scope in ("list stalled", "list pilot"):
        dev = slack.command(scope, user="UDEV")
        assert "AI-1" in dev["text"] and _hidden(dev), scope
        assert "AI-2" in slack.command(scope, user="UMARIA")["text"], scope


def test_channels_hear_nothing_of_it(confidential: Slack) -> None:
    slack = confidential
    slack.command("submit AI-2", user="UMARIA")
    slack.deliver()
    assert "Nothing waits for you" in str(open_home(slack, "UDEV")["blocks"])  # Dev's sign-off on it, too
    for user in ("UDEV", "UERIN", "UMARIA"):
        assert approve_from_dm(slack, user) == {}
    slack.deliver()
    with slack.runtime.transaction() as session:
        assert session.exec(select(Initiative.stage).where(Initiative.number == 2)).one() == "pilot"
    assert slack.emulator.messages(DIGEST_CHANNEL) == []  # the gate passed, unannounced

    with slack.runtime.transaction() as session:  # a broken evidence link, cited only by the secret plan's review
        sign_off = session.exec(select(SignOff).where(SignOff.role == "data")).one()
        sign_off.evidence_links = [BROKEN_LINK]
        session.add(EvidenceCheck(team_id=slack.emulator.team_id, url=BROKEN_LINK, state="broken", detail="HTTP 404"))
        ensure_default_digests(session, slack.runtime.settings)
        digest_id = session.exec(select(Digest.id).where(Digest.team_id == slack.emulator.team_id)).one()
    start_run(slack.runtime, digest_id=digest_id, as_of=utcnow())
    slack.deliver()
    [digest] = slack.emulator.messages(DIGEST_CHANNEL)
    assert "AI-1" in str(digest) and _hidden(digest) and "docs.example.com" not in str(digest)


def test_exports_records_and_the_portfolio_leave_it_out(confidential: Slack, capsys: pytest.CaptureFixture) -> None:
    slack = confidential
    team = ("--team", slack.emulator.team_id)
    capsys.readouterr()
    assert main(["audit", "export", *team, "--format", "jsonl"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert "AI-1" in {row["initiative"] for row in rows}
    assert [row for row in rows if row["initiative"] == "AI-2" or str(row["subject"]).startswith("AI-2")] == []

    assert main(["audit", "export", *team, "--initiative", "AI-2", "--format", "jsonl"]) == 1
    assert "There is no initiative AI-2" in capsys.readouterr().err
    assert main(["audit", "record", *team, "AI-2"]) == 1
    assert "There is no initiative AI-2" in capsys.readouterr().err
    assert main(["audit", "record", *team, "AI-1"]) == 0

    with slack.runtime.transaction() as session:
        columns = portfolio_by_stage(session, audience=Audience.workspace(team_id=slack.emulator.team_id),
                                     now=utcnow())
    assert [item.key for column in columns for item in column.initiatives] == ["AI-1"]
