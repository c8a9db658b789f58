"""Enterprise Slack as it is, over signed HTTP and the emulator: the app uninstalled or its token revoked (messages
and scheduled work wait for the reinstall, stale ones are dropped, sign-off requests re-sent), and people who
cannot act on a sign-off (deactivated, guests, strangers, Do Not Disturb)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import update
from sqlmodel import select

from bot.adapters.installation import recheck_installation
from bot.adapters.nudges import run_sweep
from bot.app import create_app
from bot.cli import main
from bot.jobs import scheduler
from bot.runtime import Runtime
from bot.services.attestation.scheduled import run_reattestations
from bot.services.gates.workspaces import catalog_for
from bot.services.tracked_items.service import CONDITION, create_item
from bot.services.waiting.service import what_waits
from bot.views import ids
from slack_emulator import SlackEmulator
from slack_emulator.requests import TEAM_ID, button, ticked_all
from storage.models import AuditEvent, Initiative, OutboxMessage, SignOff, TrackedItem, Workspace
from storage.types import utcnow
from tests.listeners.conftest import Slack
from tests.listeners.test_attestation import a_monday_at_ten_after, in_production
from tests.support.slack_app import serve_in_thread

OWNERS = ("UMARIA", "UDEV", "UERIN")


def eventually(check: Callable[[], object], timeout: float = 5) -> None:
    """Events are handled after their ack: wait until what the handler writes is there."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the event's effect never showed"
        time.sleep(0.02)


def suspension(slack: Slack) -> str | None:
    with slack.runtime.transaction() as session:
        workspace = session.get(Workspace, TEAM_ID)
        assert workspace is not None
        return workspace.suspended_reason


def outbox_states(slack: Slack) -> list[str]:
    with slack.runtime.transaction() as session:
        return [m.state for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]  # type: ignore[arg-type]


def sign_off_requests_to(slack: Slack, user: str) -> list[dict]:
    return [m for m in slack.dms_to(user) if m["text"].startswith("Sign-off requested")]


def queue_review(slack: Slack) -> None:
    """AI-1's review opened: three sign-off requests and Home refreshes wait in the outbox."""
    assert "Recorded *AI-1*" in slack.command("new Churn model business=<@UMARIA|maria> data=<@UDEV|dev> "
                                              "eng=<@UERIN|erin> risk=low")["text"]
    assert "Review of *AI-1*" in slack.command("submit AI-1")["text"]


def restart(slack: Slack) -> None:
    """The bot starting again (after a reinstall, or with a new SLACK_BOT_TOKEN): create_app asks auth.test."""
    create_app(slack.runtime).drain()


@pytest.mark.parametrize("error", ["invalid_auth", "account_inactive", "token_revoked"])
def test_a_revoked_token_holds_every_message_until_the_reinstall(
    slack: Slack, error: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_review(slack)
    slack.emulator.clear()  # the start-up's auth.test, the owners' users.info
    slack.emulator.deactivate_token(error)
    caplog.set_level(logging.WARNING)

    slack.deliver()  # the first call is refused

    assert [call.error for call in slack.emulator.calls] == [error]  # one call, then none for this workspace
    assert set(outbox_states(slack)) == {"pending"}
    assert suspension(slack) == error
    assert sum("wait for the app to be reinstalled" in r.getMessage() for r in caplog.records) == 1
    assert main(["outbox"]) == 0
    out = capsys.readouterr().out
    assert out.count("waiting for reinstall") == 1, out
    assert f"{TEAM_ID}: pending messages waiting for reinstall" in out and error in out

    slack.emulator.reinstall()
    restart(slack)
    slack.deliver()

    assert suspension(slack) is None
    assert set(outbox_states(slack)) == {"sent"}
    for owner in OWNERS:
        assert len(sign_off_requests_to(slack, owner)) == 1


def test_app_uninstalled_stops_all_calls_and_stale_messages_are_dropped_but_sign_off_requests_resent(
    slack: Slack,
) -> None:
    queue_review(slack)
    slack.emulator.clear()
    slack.emulator.deactivate_token()
    assert slack.app.event({"type": "app_uninstalled"}).status_code == 200
    eventually(lambda: suspension(slack) == "app_uninstalled")

    slack.deliver()

    assert slack.emulator.calls == []  # not a single Web API call for an uninstalled workspace
    assert set(outbox_states(slack)) == {"pending"}

    # Two days pass before the app is installed again.
    with slack.runtime.transaction() as session:
        session.exec(update(OutboxMessage).values(created_at=utcnow() - timedelta(hours=48)))  # type: ignore[call-overload]
    slack.emulator.reinstall()
    restart(slack)
    slack.deliver()

    for owner in OWNERS:  # a fresh request each, as the sign-off reads now
        assert len(sign_off_requests_to(slack, owner)) == 1
    assert slack.emulator.calls_to("views.publish") == []  # two-day-old Home refreshes were dropped
    with slack.runtime.transaction() as session:
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "outbox.stale_dropped")).all()
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.subject_type == "workspace")).all()
    assert len(audit) == 1 and audit[0].after["sign_off_requests_resent"] == 3 and audit[0].after["dropped"] > 0
    assert actions == ["workspace.suspended", "workspace.reinstalled"]


def test_a_suspended_workspace_resumes_without_a_restart_once_auth_test_succeeds_again(slack: Slack) -> None:
    client = WebClient(token=slack.emulator.bot_token, base_url=slack.emulator.base_url)
    scheduled = scheduler.build(slack.runtime).get_job("reinstall_check")
    assert scheduled is not None and scheduled.trigger.interval == timedelta(minutes=1)  # what serve runs
    slack.emulator.clear()
    assert recheck_installation(slack.runtime, client) is None
    assert slack.emulator.calls_to("auth.test") == []  # installed: nothing to ask

    queue_review(slack)
    slack.emulator.deactivate_token("token_revoked")
    slack.deliver()
    assert suspension(slack) == "token_revoked"
    slack.emulator.clear()
    assert recheck_installation(slack.runtime, client) is None  # still refused: one call, still waiting
    assert [c.method for c in slack.emulator.calls] == ["auth.test"] and suspension(slack) == "token_revoked"

    slack.emulator.reinstall()
    assert recheck_installation(slack.runtime, client) == TEAM_ID  # no restart
    slack.deliver()

    assert suspension(slack) is None and set(outbox_states(slack)) == {"sent"}
    for owner in OWNERS:
        assert len(sign_off_requests_to(slack, owner)) == 1
    with slack.runtime.transaction() as session:
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.subject_type == "workspace")).all()
    assert actions == ["workspace.reinstalled"]  # a revoked-token answer suspends without an audit event


def test_a_revoked_user_token_leaves_the_bot_working(slack: Slack) -> None:
    slack.app.event({"type": "tokens_revoked", "tokens": {"oauth": ["UMARIA"]}})  # a person's token only
    slack.app.event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOT"]}})

    eventually(lambda: suspension(slack) is not None)
    with slack.runtime.transaction() as session:
        [suspended] = session.exec(select(AuditEvent).where(AuditEvent.action == "workspace.suspended")).all()
    assert suspended.after == {"reason": "tokens_revoked"}


@pytest.fixture
def token_file(runtime: Runtime, slack_emulator: SlackEmulator, tmp_path: Path) -> Path:
    """The bot reads its token from SLACK_BOT_TOKEN_FILE (a mounted secret) instead of SLACK_BOT_TOKEN."""
    path = tmp_path / "slack-bot-token"
    path.write_text(slack_emulator.bot_token)
    runtime.settings = runtime.settings.model_copy(update={"slack_bot_token_file": path})
    return path


def test_a_listener_calls_slack_with_the_token_written_to_the_file_since_the_bot_started(
    token_file: Path, slack: Slack
) -> None:
    slack.emulator.reinstall(bot_token="xoxb-issued-by-the-reinstall")  # the old token is refused from now on
    token_file.write_text("xoxb-issued-by-the-reinstall\n")

    slack.command("new", opens_modal=True)  # views.open, called by the listener itself

    [opened] = slack.emulator.calls_to("views.open")
    assert opened.ok and opened.headers["Authorization"] == "Bearer xoxb-issued-by-the-reinstall"
    assert suspension(slack) is None


def test_a_listener_call_answered_invalid_auth_suspends_the_workspace_too(slack: Slack) -> None:
    slack.emulator.deactivate_token("invalid_auth")

    slack.command("new", opens_modal=True)  # views.open, called by the listener itself

    eventually(lambda: suspension(slack) == "invalid_auth")


# ---- people who cannot act ---------------------------------------------------------------------------------

SPONSORED = ("new Churn model business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin> sponsor=<@UCARL|carl> "
             "risk=low")


def reassign_requests_to(slack: Slack, user: str) -> list[dict]:
    return [m for m in slack.dms_to(user) if m["text"].startswith("Reassign needed")]


def test_a_deactivated_owners_sign_off_goes_to_the_sponsor_and_admins_who_reassign_it(slack: Slack) -> None:
    assert "Recorded *AI-1*" in slack.command(SPONSORED)["text"]
    slack.command("submit AI-1")
    slack.deliver()

    slack.emulator.add_user("UDEV", "dev", deleted=True)
    deactivated = {"type": "user_change", "user": {"id": "UDEV", "team_id": TEAM_ID, "deleted": True}}
    assert slack.app.event(deactivated).status_code == 200
    eventually(lambda: bool(slack.app.deliver_outbox().sent) and reassign_requests_to(slack, "UCARL"))
    slack.app.event(deactivated)  # Slack says it again: nobody is asked twice
    time.sleep(0.2)
    slack.deliver()

    [to_sponsor] = reassign_requests_to(slack, "UCARL")
    assert len(reassign_requests_to(slack, "UADMIN")) == 1 and reassign_requests_to(slack, "UDEV") == []
    assert "<@UDEV> was deactivated" in to_sponsor["text"] and "AI-1" in to_sponsor["text"]
    with slack.runtime.transaction() as session:
        nudged = {p.assignee for p in what_waits(session, team_id=TEAM_ID,
                                                 catalog=catalog_for(session, team_id=TEAM_ID)).sign_offs}
    assert nudged == {"UMARIA", "UERIN"}  # no more reminders to a deactivated account

    slack.click(ids.REASSIGN_ROLE, button(to_sponsor, ids.REASSIGN_ROLE)["value"], user="UCARL", message=to_sponsor,
                channel=to_sponsor["channel"])
    modal = slack.opened_modal()
    answer = slack.submit(modal, {ids.REASSIGN_BLOCK: {ids.VALUE: {"type": "users_select", "selected_user": "UOTTO"}}},
                          user="UCARL")
    assert "<@UOTTO> is now AI-1's owner" in str(answer)
    slack.deliver()

    assert len(sign_off_requests_to(slack, "UOTTO")) == 1
    with slack.runtime.transaction() as session:
        assert session.exec(select(SignOff.assignee).where(SignOff.role == "data")).one() == "UOTTO"


def test_a_deactivated_owners_condition_and_re_attestation_go_to_the_sponsor_and_admins_and_stop_nudging_them(
    slack: Slack,
) -> None:
    entered = in_production(slack)  # AI-1 live, Carl its sponsor
    due = a_monday_at_ten_after(entered + timedelta(days=90))
    assert run_reattestations(slack.runtime, now=due) == 1  # UMARIA, UDEV and UERIN are asked to re-attest
    with slack.runtime.transaction() as session:
        initiative = session.exec(select(Initiative)).one()
        create_item(session, actor="UCARL", initiative=initiative, kind=CONDITION, text="Bias audit by legal",
                    owner="UDEV", due_on=(due + timedelta(days=2)).date(), gate_slug="pilot-to-production",
                    stage="production")
    slack.deliver()
    slack.emulator.clear()

    slack.emulator.add_user("UDEV", "dev", deleted=True)
    assert slack.app.event({"type": "user_change", "user": {"id": "UDEV", "team_id": TEAM_ID, "deleted": True}}
                           ).status_code == 200
    eventually(lambda: bool(slack.app.deliver_outbox().sent) and len(reassign_requests_to(slack, "UCARL")) == 2)

    reattestation, condition = sorted(reassign_requests_to(slack, "UCARL"), key=lambda m: "AI-1-C1" in m["text"])
    assert "sign-off on AI-1 Churn model (Re-attestation in Production)" in reattestation["text"]
    assert "their condition AI-1-C1 on AI-1 Churn model is still open" in condition["text"]
    assert len(reassign_requests_to(slack, "UADMIN")) == 2 and reassign_requests_to(slack, "UDEV") == []

    run_sweep(slack.runtime, now=due + timedelta(days=3))  # both are due a reminder, and the condition is overdue
    slack.deliver()
    assert [m for m in slack.dms_to("UDEV") if m["text"].startswith("Reminder")] == []  # no nudge to a closed account
    assert any(m["text"].startswith("Reminder") for m in slack.dms_to("UMARIA"))  # the others are still reminded

    slack.click(ids.REASSIGN_ITEM, button(condition, ids.REASSIGN_ITEM)["value"], user="UCARL", message=condition,
                channel=condition["channel"])
    modal = slack.opened_modal()
    assert "Bias audit by legal" in str(modal["blocks"])
    answer = slack.submit(modal, {ids.REASSIGN_BLOCK: {ids.VALUE: {"type": "users_select", "selected_user": "UOTTO"}}},
                          user="UCARL")
    assert "<@UOTTO> now owns AI-1-C1" in str(answer)
    _, again = slack.click(ids.REASSIGN_ITEM, button(condition, ids.REASSIGN_ITEM)["value"], user="UADMIN",
                           message=condition, channel=condition["channel"])  # the admin's copy, clicked later
    assert "AI-1-C1 is no longer <@UDEV>'s to reassign: it is open, with <@UOTTO>." in slack.answer_at(again)["text"]
    slack.click(ids.REASSIGN_ROLE, button(reattestation, ids.REASSIGN_ROLE)["value"], user="UCARL",
                message=reattestation, channel=reattestation["channel"])
    slack.submit(slack.opened_modal(), {ids.REASSIGN_BLOCK: {ids.VALUE: {"type": "users_select",
                                                                         "selected_user": "UOTTO"}}}, user="UCARL")
    slack.deliver()

    assert any("AI-1-C1" in m["text"] for m in slack.dms_to("UOTTO"))  # the condition's news to its new owner
    assert any(m["text"].startswith("Re-attestation requested") for m in slack.dms_to("UOTTO"))
    with slack.runtime.transaction() as session:
        assert session.exec(select(TrackedItem.owner)).one() == "UOTTO"
        [moved] = session.exec(select(AuditEvent).where(AuditEvent.action == "condition.reassigned")).all()
        assert (moved.actor, moved.before, moved.after["owner"]) == ("UCARL", {"owner": "UDEV"}, "UOTTO")
        assert "deactivated" in moved.after["reason"]
        waiting = what_waits(session, team_id=TEAM_ID, catalog=catalog_for(session, team_id=TEAM_ID))
    assert {p.assignee for p in waiting.sign_offs} == {"UMARIA", "UERIN", "UOTTO"}
    assert [i.owner for i in waiting.items] == ["UOTTO"]


def test_a_deactivated_business_owners_kpi_actuals_go_to_the_sponsor_and_admins_and_the_new_owner_is_asked(
    slack: Slack,
) -> None:
    entered = in_production(slack)  # Maria is AI-1's business owner, Carl its sponsor
    assert "Churn" in slack.command('kpi AI-1 define "Churn" baseline=4.2% target=3.5%')["text"]
    due = a_monday_at_ten_after(entered + timedelta(days=31))  # past the 30 days: Maria's actuals are due

    slack.emulator.add_user("UMARIA", "maria", deleted=True)
    assert slack.app.event({"type": "user_change", "user": {"id": "UMARIA", "team_id": TEAM_ID, "deleted": True}}
                           ).status_code == 200
    eventually(lambda: bool(slack.app.deliver_outbox().sent) and reassign_requests_to(slack, "UCARL"))

    [to_sponsor] = reassign_requests_to(slack, "UCARL")
    assert "<@UMARIA> was deactivated" in to_sponsor["text"]
    assert "as Business owner of AI-1 Churn model they are the one asked for its KPI actuals (Churn)" in \
        to_sponsor["text"]
    assert len(reassign_requests_to(slack, "UADMIN")) == 1 and reassign_requests_to(slack, "UMARIA") == []

    run_sweep(slack.runtime, now=due)
    slack.deliver()
    assert slack.dms_to("UMARIA") == []  # a closed account is asked for nothing

    slack.click(ids.REASSIGN_ROLE, button(to_sponsor, ids.REASSIGN_ROLE)["value"], user="UCARL", message=to_sponsor,
                channel=to_sponsor["channel"])
    answer = slack.submit(slack.opened_modal(),
                          {ids.REASSIGN_BLOCK: {ids.VALUE: {"type": "users_select", "selected_user": "UOTTO"}}},
                          user="UCARL")
    assert "<@UOTTO> is now AI-1's owner" in str(answer)
    run_sweep(slack.runtime, now=due + timedelta(hours=1))
    slack.deliver()
    [reminder] = [m for m in slack.dms_to("UOTTO") if m["text"].startswith("Reminder")]
    assert "Record KPI actuals" in str(reminder["blocks"]) and "AI-1" in str(reminder["blocks"])


def test_a_delegate_is_asked_for_and_acts_on_conditions_re_attestations_and_kpis_on_the_owners_behalf(
    slack: Slack,
) -> None:
    entered = in_production(slack)  # Maria is AI-1's business owner
    assert "Churn" in slack.command('kpi AI-1 define "Churn" baseline=4.2% target=3.5%')["text"]
    due = a_monday_at_ten_after(entered + timedelta(days=90))  # KPI actuals are due by then too (every 30 days)
    assert run_reattestations(slack.runtime, now=due) == 1
    with slack.runtime.transaction() as session:
        create_item(session, actor="UCARL", initiative=session.exec(select(Initiative)).one(), kind=CONDITION,
                    text="Bias audit by legal", owner="UMARIA", due_on=(due + timedelta(days=2)).date(),
                    gate_slug="pilot-to-production", stage="production")
    until = (utcnow() + timedelta(days=200)).date().isoformat()
    answer = slack.command(f"delegate <@UOTTO|otto> until {until}")["text"]
    assert "meet your conditions and record your KPI actuals" in answer
    slack.deliver()

    run_sweep(slack.runtime, now=due + timedelta(days=3))
    slack.deliver()

    assert [m for m in slack.dms_to("UMARIA") if m["text"].startswith("Reminder")] == []  # away: nothing to her
    [reminder] = [m for m in slack.dms_to("UOTTO") if m["text"].startswith("Reminder")]
    shown = str(reminder["blocks"])
    assert "Re-attestation in Production" in shown and "AI-1-C1" in shown and "Record KPI actuals" in shown
    assert shown.count("for <@UMARIA> (delegated to you)") == 3  # the re-attestation, the condition, the KPIs

    assert "Only AI-1-C1's owner" in slack.command("condition met AI-1-C1 Audit done", user="UNOBODY")["text"]
    slack.command("condition met AI-1-C1 Legal signed the audit https://wiki.example.com/audit", user="UOTTO")
    slack.command("kpi AI-1 3.9%", user="UOTTO")
    slack.click(ids.APPROVE, button(reminder, ids.APPROVE)["value"], user="UOTTO", message=reminder,
                channel=reminder["channel"])
    modal = slack.opened_modal()
    slack.submit(modal, ticked_all(modal), user="UOTTO")

    with slack.runtime.transaction() as session:
        audited = {e.action: e for e in session.exec(select(AuditEvent).where(AuditEvent.actor == "UOTTO"))}
        assert session.exec(select(TrackedItem.state)).one() == "met"
        [maria] = session.exec(select(SignOff).where(SignOff.assignee == "UMARIA", SignOff.state == "approved"))
        assert maria.decided_by == "UOTTO"
    for action in ("condition.met", "kpi.recorded", "signoff.approved"):
        assert audited[action].after["on_behalf_of"] == "UMARIA", action

    slack.command("delegate off")  # back: the delegate may no longer act for her
    assert "Only AI-1's owners" in slack.command("kpi AI-1 3.8%", user="UOTTO")["text"]


def test_a_condition_cannot_be_given_to_a_guest(slack: Slack) -> None:
    slack.emulator.add_user("UGUEST", "guest", is_ultra_restricted=True)
    assert "Recorded *AI-1*" in slack.command(SPONSORED)["text"]
    with slack.runtime.transaction() as session:
        create_item(session, actor="UCARL", initiative=session.exec(select(Initiative)).one(), kind=CONDITION,
                    text="Bias audit", owner="UDEV", due_on=utcnow().date(), gate_slug="idea-to-pilot", stage="pilot")

    answer = slack.command("condition reassign AI-1-C1 <@UGUEST|guest> Dev is leaving", user="UCARL")["text"]

    assert "<@UGUEST> cannot be an owner: they are a guest in this workspace" in answer
    with slack.runtime.transaction() as session:
        assert session.exec(select(TrackedItem.owner)).one() == "UDEV"


def test_guests_and_people_from_other_organisations_are_refused_as_owners(slack: Slack, runtime: Runtime) -> None:
    slack.emulator.add_user("UGUEST", "guest", is_restricted=True)
    slack.emulator.add_user("USTRANGER", "stranger", is_stranger=True)

    guest = slack.command("new Churn model business=<@UGUEST|guest>")["text"]
    stranger = slack.command("new Churn model business=<@USTRANGER|stranger>")["text"]

    assert guest.endswith("<@UGUEST> cannot be an owner: they are a guest in this workspace. Name a full member, "
                          "or an admin sets ALLOW_GUEST_OWNERS=true.")
    assert "<@USTRANGER> cannot be an owner: they are from another organisation (Slack Connect)" in stranger
    with slack.runtime.transaction() as session:
        assert session.exec(select(Initiative)).all() == []

    runtime.settings = runtime.settings.model_copy(update={"allow_guest_owners": True})
    with serve_in_thread(runtime, slack.emulator) as running:  # the bot started with ALLOW_GUEST_OWNERS=true
        allowing = Slack(running)
        assert "Recorded *AI-1*" in allowing.command("new Churn model business=<@UGUEST|guest>")["text"]
        assert "another organisation" in allowing.command("owners AI-1 data=<@USTRANGER|stranger>")["text"]
