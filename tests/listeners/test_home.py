"""App Home, each person's desk, over signed HTTP against the emulator: what waits on them oldest first with its
due dates and the buttons that act on it (the same as `/initiative todo`), their initiatives and what blocks each,
the portfolio for admins only, and "See all" paging what the Home cuts, always within 100 blocks."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.services.access.actors import Actor
from bot.services.access.people import record_profile
from bot.services.access.scheduled import end_lapsed_delegations
from bot.services.access.visibility import Audience
from bot.services.initiatives.service import get_initiative
from bot.services.reviews import service as lifecycle
from bot.services.tracked_items.service import create_item
from bot.views import ids
from slack_emulator import validate_blocks, validate_view
from slack_emulator.requests import block_actions_payload, ticked_all
from slack_emulator.workspace import TEAM_ID
from storage.models import AuditEvent, Delegation, Initiative, SignOff, StageTransition
from storage.types import utcnow
from tests.listeners.conftest import Slack
from tests.listeners.test_sign_off_round_trip import approve_from_dm, open_review, request_dm

ADMIN = Actor(team_id=TEAM_ID, user_id="UADMIN", is_admin=True)
KOLKATA = ZoneInfo("Asia/Kolkata")


def open_home(slack: Slack, user: str) -> dict:
    before = len(slack.emulator.calls_to("views.publish"))
    response = slack.app.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
                                "event_ts": "1700000000.000100"})
    assert response.status_code == 200
    [call] = slack.emulator.wait_for("views.publish", before + 1)[before:]
    assert call.ok, call.response
    assert call.params["user_id"] == user
    return call.json_param("view")


def first_section(home: dict[str, Any]) -> list[dict[str, Any]]:
    """"Waiting on me": the Home's blocks before its first divider."""
    return home["blocks"][:next(n for n, block in enumerate(home["blocks"]) if block["type"] == "divider")]


def buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(action id, value) of every button, in order, in actions blocks and as section accessories."""
    found = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    found += [b["accessory"] for b in blocks if b.get("accessory")]
    return [(e["action_id"], e.get("value", "")) for e in found]


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def back_in_time(slack: Slack, key: str, *, to_stage: str, days: int) -> None:
    """An admin moves `key` to `to_stage`, as if `days` ago."""
    with slack.runtime.transaction() as session:
        initiative = get_initiative(session, audience=Audience.admin(team_id=TEAM_ID), key=key)
        lifecycle.move_stage(session, actor=ADMIN, initiative=initiative, to_stage=to_stage, reason="imported")
        initiative.stage_entered_at = utcnow() - timedelta(days=days)
        session.get(StageTransition, initiative.current_transition_id).at = initiative.stage_entered_at


def test_the_desk_lists_what_waits_oldest_first_with_due_dates_in_the_readers_zone_and_todo_says_the_same(
        slack: Slack) -> None:
    with slack.runtime.transaction() as session:
        record_profile(session, team_id=TEAM_ID, user_id="UDEV", tz="Asia/Kolkata", now=utcnow())
    open_review(slack)  # AI-1: Dev's data sign-off, requested now
    # AI-2, live for 40 days, Dev its business owner: its KPI actuals fell due 10 days ago.
    assert "Recorded *AI-2*" in slack.command("new Fraud rules business=<@UDEV|dev> risk=low")["text"]
    slack.command('kpi AI-2 define "Losses avoided" baseline=0 target=5000', user="UDEV")
    back_in_time(slack, "AI-2", to_stage="production", days=40)
    condition_due = datetime.now(UTC).date() - timedelta(days=5)
    with slack.runtime.transaction() as session:
        ai1 = session.exec(select(Initiative).where(Initiative.number == 1)).one()
        condition = create_item(session, actor="UMARIA", initiative=ai1, kind="condition", text="DPIA signed",
                                owner="UDEV", due_on=condition_due, gate_slug="idea-to-pilot", stage="idea")
        condition.created_at = utcnow() - timedelta(days=20)  # the oldest of the three

    home = open_home(slack, "UDEV")
    assert validate_view(home, "home") == []
    waiting = first_section(home)
    assert waiting[0]["text"]["text"] == "Waiting on me (3)"
    condition_text, kpi_text, sign_off_text = texts(waiting)  # oldest first
    assert condition_text.startswith("*AI-1-C1* DPIA signed\nCondition of AI-1 Churn model, from Pilot approval")
    five_pm_there = datetime.combine(condition_due, time(17), KOLKATA)
    assert f":red_circle: *overdue* since <!date^{int(five_pm_there.timestamp())}^" in condition_text
    assert "Asia/Kolkata>" in condition_text  # its fallback, in the reader's zone
    kpi_due = (datetime.now(UTC) - timedelta(days=10)).date()
    assert kpi_text.startswith("*AI-2* Fraud rules\nKPI actuals to record (Losses avoided)")
    assert f"overdue* since {kpi_due:%a %d %b %Y}" in kpi_text
    assert sign_off_text.startswith("*AI-1* Churn model\nData owner sign-off · Pilot approval · requested ")
    dm_due = next(f["text"] for f in request_dm(slack, "UDEV")["blocks"][1]["fields"] if f["text"].startswith("*Due"))
    assert sign_off_text.endswith(" · due " + dm_due.removeprefix("*Due*\n"))  # the DM's deadline, to the second
    sign_off_id = request_dm(slack, "UDEV")["blocks"][-1]["elements"][0]["value"]
    assert buttons(waiting) == [(ids.APPROVE, sign_off_id), (ids.REQUEST_CHANGES, sign_off_id),
                                (ids.KPI_RECORD, "AI-2")]
    assert "`/initiative condition met <id> <evidence or link>`" in str(waiting)

    # `/initiative todo` is the same section, privately, with a plain-text fallback in the reader's zone.
    todo = slack.command("todo", user="UDEV")
    assert todo["response_type"] == "ephemeral" and todo["blocks"] == waiting
    assert todo["text"].splitlines()[1:] == [
        f"• AI-1-C1 DPIA signed, overdue since {five_pm_there:%a %Y-%m-%d %H:%M} Asia/Kolkata",
        f"• AI-2 KPI actuals to record, overdue since {kpi_due}",
        todo["text"].splitlines()[3]]
    assert todo["text"].splitlines()[3].startswith("• AI-1 Data owner sign-off (Pilot approval), due ")
    assert "usage" in slack.command("todo now", user="UDEV")["text"].lower()
    assert "Fraud rules" in slack.command("list mine", user="UDEV")["text"]  # `list mine` still lists initiatives

    # My initiatives: what each waits for, and on whom.
    mine = texts(home["blocks"][len(waiting):])
    [churn] = [line for line in mine if line.startswith("*AI-1*")]
    assert "Pilot approval waits on Business owner (<@UMARIA>), Data owner (<@UDEV>), Engineering owner (<@UERIN>)" \
        in churn and "AI-1-C1 DPIA signed (<@UDEV>)" in churn
    assert ("initiative.view", "AI-1") in buttons(home["blocks"])


def test_a_decision_republishes_the_home_without_the_decided_sign_off(slack: Slack) -> None:
    open_review(slack)
    assert approve_from_dm(slack, "UDEV") == {}
    slack.emulator.clear()
    slack.deliver()
    [dev_home] = [c for c in slack.emulator.calls_to("views.publish") if c.params["user_id"] == "UDEV"]
    assert "Nothing waits on you" in str(dev_home.json_param("view")["blocks"])
    published_to = sorted(c.params["user_id"] for c in slack.emulator.calls_to("views.publish"))
    assert published_to == ["UDEV", "UERIN", "UMARIA"]  # the review's people, once each; nobody else


def test_a_long_desk_stays_within_100_blocks_and_see_all_pages_the_rest_in_a_modal(slack: Slack) -> None:
    for number in range(30):
        slack.command(f"new Initiative {number} business=<@UDEV> data=<@UDEV> eng=<@UDEV>", user="UOTTO")
        slack.command(f"submit AI-{number + 1}", user="UOTTO")
    for who in ("UDEV", "UADMIN"):
        home = open_home(slack, who)
        assert len(home["blocks"]) <= 100 and validate_view(home, "home") == []
    home = open_home(slack, "UDEV")
    assert len([b for b in home["blocks"] if b["type"] == "actions" and b["block_id"].startswith("pending.")]) == 15
    more = [(e["text"]["text"], e["value"]) for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]
            if e["action_id"] == ids.DESK_MORE]
    assert more == [("See all 90", "waiting:0"), ("See all 30", "initiatives:0")]

    slack.click(ids.DESK_MORE, "waiting:0", user="UDEV", home=True)
    page = slack.opened_modal()
    assert page["title"]["text"] == "Waiting on me" and "90 in all · page 1 of 5" in str(page["blocks"])
    approvals = [value for action, value in buttons(page["blocks"]) if action == ids.APPROVE]
    assert len(approvals) == 20  # each with its buttons (the emulator refuses a view Slack would)
    in_modal = {"id": page["id"], "type": "modal", "callback_id": ids.DESK_MODAL}
    turn = block_actions_payload(ids.DESK_MORE, "waiting:80", user_id="UDEV",
                                 trigger_id=slack.emulator.new_trigger_id(), view=in_modal)
    assert slack.app.interact(turn).status_code == 200
    [update] = slack.emulator.wait_for("views.update", 1)
    last = update.json_param("view")
    assert update.params["view_id"] == page["id"] and "page 5 of 5" in str(last["blocks"])
    assert len([a for a, _ in buttons(last["blocks"]) if a == ids.APPROVE]) == 10
    assert [a for a, _ in buttons(last["blocks"]) if a in (ids.DESK_MORE, ids.DESK_PREVIOUS)] == [ids.DESK_PREVIOUS]
    assert not set(approvals) & {v for a, v in buttons(last["blocks"]) if a == ids.APPROVE}

    slack.click(ids.DESK_MORE, "initiatives:0", user="UDEV", home=True)
    owned = slack.opened_modal()
    assert owned["title"]["text"] == "My initiatives" and len(texts(owned["blocks"])) == 20
    slack.click(ids.DESK_MORE, "somebody-else:0", user="UDEV", home=True)
    assert "not one of this bot's buttons" in str(slack.opened_modal()["blocks"])


def test_approve_from_app_home_opens_the_checklist_and_records_the_decision(slack: Slack, runtime) -> None:
    open_review(slack)
    home = open_home(slack, "UERIN")
    approve = next(e for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]
                   if e["action_id"] == ids.APPROVE)
    slack.click(ids.APPROVE, approve["value"], user="UERIN", home=True)
    modal = slack.opened_modal()
    assert modal["callback_id"] == ids.CHECKLIST_MODAL
    assert slack.submit(modal, ticked_all(modal), user="UERIN") == {}
    with runtime.transaction() as session:
        assert {s.role: s.state for s in session.exec(select(SignOff))}["engineering"] == "approved"
    slack.deliver()
    assert slack.emulator.warnings == []  # every message carried its plain-text fallback
    [*_, refreshed] = [c for c in slack.emulator.calls_to("views.publish") if c.params["user_id"] == "UERIN"]
    assert "Nothing waits on you" in str(refreshed.json_param("view")["blocks"])


def test_only_admins_see_the_portfolio_its_funnel_its_stalled_and_a_new_initiative_button(slack: Slack) -> None:
    for title in ("Churn model", "Fraud rules", "Invoice OCR"):
        slack.command(f"new {title} business=<@UDEV|dev>")
    back_in_time(slack, "AI-2", to_stage="pilot", days=120)  # past Pilot's 90 days
    back_in_time(slack, "AI-3", to_stage="pilot", days=10)

    admin = open_home(slack, "UADMIN")
    portfolio = str(admin["blocks"][next(n for n, b in enumerate(admin["blocks"])
                                         if b["type"] == "header" and b["text"]["text"] == "Portfolio"):])
    assert "*Funnel* (3 in progress)\\nIdea *1* → Pilot *2* → Production *0* → Scaled *0*" in portfolio
    assert "*Stalled* (1: longer in their stage than its threshold)\\n*AI-2* Fraud rules — Pilot for 120 days " \
           "(threshold 90)" in portfolio and "AI-3" not in portfolio
    assert (ids.NEW_INITIATIVE, "") in buttons(admin["blocks"])
    for person in ("UDEV", "UMARIA"):
        assert "Portfolio" not in str(open_home(slack, person)["blocks"]) and "Funnel" not in str(
            open_home(slack, person)["blocks"])

    slack.click(ids.NEW_INITIATIVE, "", user="UADMIN", home=True)
    modal = slack.opened_modal()
    assert modal["callback_id"] == ids.NEW_INITIATIVE_MODAL and modal["title"]["text"] == "New initiative"


def test_todo_with_nothing_waiting_says_so(slack: Slack) -> None:
    todo = slack.command("todo", user="UCARL")
    assert todo["text"] == "Nothing waits on you. 🎉" and validate_blocks(todo["blocks"], "message") == []


def homes_published_to(slack: Slack, user: str) -> list[dict[str, Any]]:
    return [c.json_param("view") for c in slack.emulator.calls_to("views.publish") if c.params["user_id"] == user]


def test_a_delegates_desk_lists_what_waits_on_the_owner_for_them_while_the_delegation_lasts(slack: Slack,
                                                                                           runtime) -> None:
    with slack.runtime.transaction() as session:
        record_profile(session, team_id=TEAM_ID, user_id="UDEV", tz="Asia/Kolkata", now=utcnow())
        record_profile(session, team_id=TEAM_ID, user_id="UOTTO", tz="America/New_York", now=utcnow())
    # AI-1, confidential: Otto owns no part of it, so only Dev's delegation lets him see it.
    assert "Recorded *AI-1*" in slack.command("new Churn model business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|"
                                              "erin> sponsor=<@UMARIA|maria> risk=low confidential=yes")["text"]
    slack.command("submit AI-1")
    assert "Recorded *AI-2*" in slack.command("new Fraud rules business=<@UDEV|dev> risk=low")["text"]
    slack.command('kpi AI-2 define "Losses avoided" baseline=0 target=5000', user="UDEV")
    back_in_time(slack, "AI-2", to_stage="production", days=40)  # Dev's KPI actuals fell due 10 days ago
    condition_due = datetime.now(UTC).date() + timedelta(days=3)
    with slack.runtime.transaction() as session:
        ai1 = session.exec(select(Initiative).where(Initiative.number == 1)).one()
        condition = create_item(session, actor="UMARIA", initiative=ai1, kind="condition", text="DPIA signed",
                                owner="UDEV", due_on=condition_due, gate_slug="idea-to-pilot", stage="idea")
        condition.created_at = utcnow() - timedelta(days=20)
    slack.deliver()
    assert "Nothing waits on you" in str(first_section(open_home(slack, "UOTTO")))
    slack.emulator.clear()

    until = (utcnow() + timedelta(days=30)).date().isoformat()
    slack.command(f"delegate <@UOTTO|otto> until {until}", user="UDEV")
    slack.deliver()  # the delegation refreshed Otto's Home
    [otto_home] = homes_published_to(slack, "UOTTO")
    assert validate_view(otto_home, "home") == []
    waiting = first_section(otto_home)
    assert waiting[0]["text"]["text"] == "Waiting on me (3)"
    condition_text, kpi_text, sign_off_text = texts(waiting)  # oldest first, each Dev's, for him
    assert condition_text.startswith("*AI-1-C1* DPIA signed\nCondition of AI-1 Churn model, from Pilot approval"
                                     " · for <@UDEV> (delegated to you) · due ")
    five_pm_for_dev = datetime.combine(condition_due, time(17), KOLKATA)  # due on Dev's clock, shown in Otto's zone
    assert f"due <!date^{int(five_pm_for_dev.timestamp())}^" in condition_text
    assert "America/New_York>" in condition_text
    assert kpi_text.startswith("*AI-2* Fraud rules\nKPI actuals to record (Losses avoided) · for <@UDEV> "
                               "(delegated to you) · :red_circle: *overdue*")
    assert sign_off_text.startswith("*AI-1* Churn model\nData owner sign-off · for <@UDEV> (delegated to you) · "
                                    "Pilot approval · requested ")  # Maria's and Erin's are not his to see
    sign_off_id = request_dm(slack, "UDEV")["blocks"][-1]["elements"][0]["value"]
    assert buttons(waiting) == [(ids.APPROVE, sign_off_id), (ids.REQUEST_CHANGES, sign_off_id),
                                (ids.KPI_RECORD, "AI-2")]
    todo = slack.command("todo", user="UOTTO")
    assert todo["blocks"] == waiting
    assert todo["text"].splitlines()[1].startswith("• AI-1-C1 DPIA signed for <@UDEV> (delegated to you), due ")
    assert "Churn model" not in slack.command("list", user="UCARL")["text"]  # still confidential to the others

    # They stay Dev's: his own desk lists them as his.
    dev_waiting = first_section(open_home(slack, "UDEV"))
    assert dev_waiting[0]["text"]["text"] == "Waiting on me (3)" and "delegated" not in str(dev_waiting)

    # Approve, from Otto's Home, records Dev's sign-off on his behalf.
    slack.click(ids.APPROVE, sign_off_id, user="UOTTO", home=True)
    modal = slack.opened_modal()
    assert modal["callback_id"] == ids.CHECKLIST_MODAL
    assert slack.submit(modal, ticked_all(modal), user="UOTTO") == {}
    with runtime.transaction() as session:
        signed = session.get(SignOff, int(sign_off_id))
        assert (signed.assignee, signed.state, signed.decided_by) == ("UDEV", "approved", "UOTTO")
        [audited] = session.exec(select(AuditEvent).where(AuditEvent.action == "signoff.approved"))
        assert (audited.actor, audited.after["on_behalf_of"]) == ("UOTTO", "UDEV")
    slack.emulator.clear()
    slack.deliver()
    assert "Waiting on me (2)" in str(first_section(homes_published_to(slack, "UOTTO")[-1]))

    # A new sign-off asked of Dev refreshes Otto's Home too.
    slack.command("new Invoice OCR business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin> risk=low")
    slack.command("submit AI-3")
    slack.emulator.clear()
    slack.deliver()
    [refreshed] = homes_published_to(slack, "UOTTO")
    assert "Waiting on me (3)" in str(first_section(refreshed)) and "Invoice OCR" in str(first_section(refreshed))

    # Dev hands over to Carl instead: both Homes are refreshed, Otto's without Dev's.
    slack.emulator.clear()
    slack.command(f"delegate <@UCARL|carl> until {until}", user="UDEV")
    slack.deliver()
    [after] = homes_published_to(slack, "UOTTO")
    assert "Nothing waits on you" in str(first_section(after)) and "UDEV" not in str(after)
    assert "Nothing waits on you" in slack.command("todo", user="UOTTO")["text"]
    [carl] = homes_published_to(slack, "UCARL")
    assert str(first_section(carl)).count("for <@UDEV> (delegated to you)") == 3

    # The delegation ends: Carl's Home is refreshed without Dev's.
    slack.emulator.clear()
    slack.command("delegate off", user="UDEV")
    slack.deliver()
    [carl] = homes_published_to(slack, "UCARL")
    assert "UDEV" not in str(first_section(carl))
    assert "delegated" not in slack.command("todo", user="UCARL")["text"]


def test_a_delegation_that_reaches_its_end_leaves_the_delegates_desk_once_the_sweep_has_run(slack: Slack) -> None:
    slack.command("new Churn model business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin> risk=low")
    slack.command("submit AI-1")
    today = utcnow().date()
    slack.command(f"delegate <@UOTTO|otto> until {today.isoformat()}", user="UDEV")
    slack.deliver()
    assert "for <@UDEV> (delegated to you)" in str(first_section(homes_published_to(slack, "UOTTO")[-1]))
    with slack.runtime.transaction() as session:
        ends_at = session.get(Delegation, (TEAM_ID, "UDEV")).ends_at
    slack.emulator.clear()

    assert end_lapsed_delegations(slack.runtime, now=ends_at) == 0  # its last minute: still in force
    slack.deliver()
    assert slack.emulator.calls_to("views.publish") == []

    # The clock passes its end: the next sweep ends it and publishes both Homes, once.
    assert end_lapsed_delegations(slack.runtime, now=ends_at + timedelta(minutes=1)) == 1
    assert end_lapsed_delegations(slack.runtime, now=ends_at + timedelta(minutes=6)) == 0  # another replica's run
    slack.deliver()
    [otto] = homes_published_to(slack, "UOTTO")
    assert "Nothing waits on you" in str(first_section(otto)) and "UDEV" not in str(otto)
    [dev] = homes_published_to(slack, "UDEV")
    assert "Data owner sign-off" in str(first_section(dev))  # still his, as it always was
    assert "delegated" not in slack.command("todo", user="UOTTO")["text"]
    with slack.runtime.transaction() as session:
        assert session.get(Delegation, (TEAM_ID, "UDEV")) is None


def test_a_lapsed_delegation_replaced_before_the_sweep_ends_still_leaves_the_old_delegates_desk(slack: Slack) -> None:
    slack.command("new Churn model business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin> risk=low")
    slack.command("submit AI-1")
    slack.command(f"delegate <@UOTTO|otto> until {utcnow().date().isoformat()}", user="UDEV")
    with slack.runtime.transaction() as session:  # its end passed a minute ago; no sweep has run since
        session.get(Delegation, (TEAM_ID, "UDEV")).ends_at = utcnow() - timedelta(minutes=1)
    slack.deliver()
    slack.emulator.clear()

    slack.command(f"delegate <@UCARL|carl> until {(utcnow() + timedelta(days=3)).date().isoformat()}", user="UDEV")
    slack.deliver()

    [otto] = homes_published_to(slack, "UOTTO")
    assert "Nothing waits on you" in str(first_section(otto))
    [carl] = homes_published_to(slack, "UCARL")
    assert "for <@UDEV> (delegated to you)" in str(first_section(carl))
