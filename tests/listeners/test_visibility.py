"""Confidential initiatives, over signed HTTP against the Slack emulator: every place that shows initiatives asks
the one rule (`bot.services.access.visibility`), so a confidential initiative disappears from every listing, card,
Home, report, export and channel post for an outsider, while its owners, their delegates and admins still see it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlmodel import select

from bot.adapters.digest import advance_runs, start_run
from bot.cli import main
from bot.services.access.actors import Actor
from bot.services.access.visibility import Audience
from bot.services.digest.definitions import ensure_default_digests
from bot.services.initiatives.portfolio import portfolio_by_stage
from bot.services.reviews import service as lifecycle
from bot.views import ids
from storage.models import AuditEvent, Digest, EvidenceCheck, Initiative, SignOff, StageTransition
from storage.types import utcnow
from tests.listeners.conftest import DIGEST_CHANNEL, Slack
from tests.listeners.test_home import open_home
from tests.listeners.test_sign_off_round_trip import approve_from_dm

OWNERS = "business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin>"
PUBLIC_OWNERS = "business=<@UOTTO|otto> data=<@UDEV|dev> eng=<@UERIN|erin>"
OUTSIDER = "UOTTO"  # owns AI-1 only
SECRET = "Secret plan"
BROKEN_LINK = "https://docs.example.com/gone"


@pytest.fixture
def confidential(slack: Slack) -> Slack:
    """AI-1 "Public model" (Otto, Dev, Erin) and AI-2 "Secret plan" (Maria, Dev, Erin), which its sponsor Maria
    records as confidential: Otto, a channel and the workspace as a whole may not see it."""
    assert "Recorded" in slack.command(f"new Public model {PUBLIC_OWNERS}")["text"]
    created = slack.command(f"new {SECRET} {OWNERS} sponsor=<@UMARIA|maria> confidential=yes", user="UMARIA")
    assert "Recorded *AI-2*" in created["text"], created
    return slack


def _hidden(answer: Any) -> bool:
    return "AI-2" not in str(answer) and SECRET not in str(answer)


def test_lists_cards_home_and_digest_preview_leave_it_out_for_whoever_may_not_see_it(confidential: Slack) -> None:
    slack = confidential
    for scope in ("list", "list all", "list mine", "list idea"):
        dev = slack.command(scope, user=OUTSIDER)
        assert "AI-1" in dev["text"] and _hidden(dev), scope
        assert "(1)" in str(dev["blocks"]), scope  # the count, too
        assert "AI-2" in slack.command(scope, user="UMARIA")["text"], scope

    for verb in ("show", "history"):
        missing = slack.command(f"{verb} AI-9", user=OUTSIDER)["text"]
        assert "There is no initiative AI-9" in missing
        assert slack.command(f"{verb} AI-2", user=OUTSIDER)["text"] == missing.replace("AI-9", "AI-2"), verb
        maria = slack.command(f"{verb} AI-2", user="UMARIA")
        assert "AI-2" in str(maria["blocks"]) and "no initiative" not in maria["text"], verb

    assert "No initiative you can see matches" in slack.command("find secret", user=OUTSIDER)["text"]
    for reader in ("UMARIA", "UADMIN"):
        assert "AI-2" in slack.command("find secret plan", user=reader)["text"], reader

    dev_home = open_home(slack, OUTSIDER)
    assert "Public model" in str(dev_home["blocks"]) and _hidden(dev_home["blocks"])
    assert SECRET in str(open_home(slack, "UMARIA")["blocks"])

    dev_preview = slack.command("digest", user=OUTSIDER)
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
        dev = slack.command(scope, user=OUTSIDER)
        assert "AI-1" in dev["text"] and _hidden(dev), scope
        assert "AI-2" in slack.command(scope, user="UMARIA")["text"], scope

    # The desk: an admin's portfolio counts it and names it among the stalled; the outsider's Home, `todo` and
    # even a "See all" page of stalled initiatives they ask for name it nowhere.
    admin_home = str(open_home(slack, "UADMIN")["blocks"])
    assert "*Funnel* (2 in progress)" in admin_home and f"*AI-2* {SECRET}" in admin_home
    outsider_home = open_home(slack, OUTSIDER)
    assert "Public model" in str(outsider_home["blocks"]) and _hidden(outsider_home["blocks"])
    assert "Portfolio" not in str(outsider_home["blocks"]) and _hidden(slack.command("todo", user=OUTSIDER))
    slack.click(ids.DESK_MORE, ids.desk_page_value(ids.DeskPage(ids.DESK_STALLED, 0)), user=OUTSIDER, home=True)
    stalled = slack.opened_modal()
    assert "AI-1" in str(stalled["blocks"]) and _hidden(stalled)


def test_channels_hear_nothing_of_it(confidential: Slack) -> None:
    slack = confidential
    slack.command("submit AI-2", user="UMARIA")
    slack.deliver()
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
    slack.deliver()  # the text; then the chart, in its thread
    advance_runs(slack.runtime, WebClient(token=slack.emulator.bot_token, base_url=slack.emulator.base_url))
    slack.deliver()
    # What anyone in the channel reads: the digest, its thread, its chart. AI-2 is counted, never named.
    posted = slack.emulator.messages(DIGEST_CHANNEL)
    digest = posted[0]
    charts = [f for f in slack.emulator.files.values() if f.completed and f.channel_id == DIGEST_CHANNEL]
    assert "AI-1" in str(digest) and all(_hidden(message) for message in posted)
    assert "docs.example.com" not in str(posted) and "<@UMARIA>" not in str(posted)
    assert charts and all(_hidden([chart.title, chart.initial_comment]) for chart in charts)
    shown = str(digest["blocks"])
    assert "*Idea*\\n1" in shown and "*Pilot*\\n1" in shown  # both in the funnel's totals: one in each stage
    assert "*Moved this week*  New 2 · Advanced 1" in shown
    assert "Counted, not named: 1 confidential initiative added, 1 confidential initiative advanced." in shown
    assert ": 2 active, 1 advanced this week" in digest["text"]  # the notification's counts, AI-2's move included


def test_the_command_line_acts_as_an_admin_and_the_workspace_portfolio_leaves_it_out(
    confidential: Slack, capsys: pytest.CaptureFixture
) -> None:
    slack = confidential
    team = ("--team", slack.emulator.team_id)
    capsys.readouterr()
    assert main(["audit", "export", *team, "--format", "jsonl"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"AI-1", "AI-2"} <= {row["initiative"] for row in rows}
    assert main(["audit", "record", *team, "AI-2"]) == 0
    assert SECRET in capsys.readouterr().out

    with slack.runtime.transaction() as session:
        columns = portfolio_by_stage(session, audience=Audience.workspace(team_id=slack.emulator.team_id),
                                     now=utcnow())
    assert [item.key for column in columns for item in column.initiatives] == ["AI-1"]


def test_owners_their_delegates_while_delegated_and_admins_see_it_and_only_sponsor_or_admin_change_it(
    confidential: Slack,
) -> None:
    slack = confidential
    for user in ("UMARIA", "UDEV", "UERIN", "UADMIN"):
        assert SECRET in str(slack.command("show AI-2", user=user)["blocks"]), user
    assert "There is no initiative AI-2" in slack.command("show AI-2", user="UCARL")["text"]
    slack.command(f"delegate <@UCARL|carl> until {(utcnow() + timedelta(days=3)).date()}", user="UDEV")
    assert SECRET in str(slack.command("show AI-2", user="UCARL")["blocks"])
    slack.command("delegate off", user="UDEV")
    assert "There is no initiative AI-2" in slack.command("show AI-2", user="UCARL")["text"]

    refused = slack.command("confidential AI-2 no", user="UDEV")["text"]
    assert refused == "Only AI-2's sponsor or an admin can change who may see it."
    assert "sponsor" in slack.command(f"new Other {OWNERS} confidential=yes", user="UDEV")["text"]
    assert "now visible to everyone" in slack.command("confidential AI-2 no", user="UADMIN")["text"]
    assert SECRET in str(slack.command("show AI-2", user=OUTSIDER)["blocks"])
    assert "now confidential" in slack.command("confidential AI-1 yes", user="UADMIN")["text"]
    assert "There is no initiative AI-1" in slack.command("show AI-1", user="UCARL")["text"]
    with slack.runtime.transaction() as session:
        changes = session.exec(select(AuditEvent.subject_key, AuditEvent.actor, AuditEvent.after).where(
            AuditEvent.action == "initiative.confidentiality_changed").order_by(AuditEvent.id)).all()
    assert [tuple(row) for row in changes] == [("AI-2", "UADMIN", {"confidential": False}),
                                               ("AI-1", "UADMIN", {"confidential": True})]
