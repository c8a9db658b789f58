"""After go-live, end to end: a re-attestation falls due, is nudged and answered "no" (At risk), and a model that
MLflow (answered through respx) shows to be too old is flagged Stale model. Signed requests over real HTTP against
the Slack emulator, asserting on what reached Slack and the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import respx
from sqlmodel import col, select

from bot.adapters.nudges import run_sweep
from bot.services.access.actors import Actor
from bot.services.attestation.scheduled import run_integration_checks, run_reattestations
from bot.services.reviews import service as lifecycle
from bot.views import ids
from slack_emulator.requests import TEAM_ID, button, ticked_all
from storage.models import AuditEvent, GateReview, Initiative, InitiativeFlag, ModelCheck, SignOff
from tests.listeners.conftest import DIGEST_CHANNEL, Slack

OWNERS = "business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin>"
SPONSOR = "UCARL"
MLFLOW = "https://93.184.215.16"  # a public address: the SSRF guard admits it, and respx answers for it


def in_production(slack: Slack, *, model: str | None = None) -> datetime:
    """AI-1, with three owners and Carl as sponsor, moved to Production by an admin; when it entered it."""
    assert "Recorded *AI-1*" in slack.command(f"new Churn model {OWNERS} risk=low")["text"]
    slack.command("owners AI-1 sponsor=<@UCARL|carl>")
    with slack.runtime.transaction() as session:
        initiative = session.exec(select(Initiative)).one()
        initiative.mlflow_model = model
        lifecycle.move_stage(session, actor=Actor(TEAM_ID, "UADMIN", is_admin=True), initiative=initiative,
                             to_stage="production", reason="went live before the bot")
    slack.deliver()
    slack.emulator.clear()
    with slack.runtime.transaction() as session:
        return session.exec(select(Initiative)).one().stage_entered_at


def a_monday_at_ten_after(moment: datetime) -> datetime:
    day = (moment + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def reattestation_dm(slack: Slack, user: str) -> dict[str, Any]:
    """The newest re-attestation request the person got."""
    return [m for m in slack.dms_to(user)
            if m["blocks"][0]["text"]["text"].startswith("Re-attestation requested: AI-1")][-1]


def text(value: str) -> dict[str, Any]:
    return {ids.VALUE: {"type": "plain_text_input", "value": value}}


def flags(slack: Slack) -> list[InitiativeFlag]:
    with slack.runtime.transaction() as session:
        found = list(session.exec(select(InitiativeFlag).order_by(col(InitiativeFlag.id))))
        session.expunge_all()
        return found


def audit_actions(slack: Slack) -> list[str]:
    with slack.runtime.transaction() as session:
        return [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]


def test_a_reattestation_falls_due_is_nudged_and_an_owners_no_flags_the_initiative_at_risk(slack: Slack):
    entered = in_production(slack)
    # The default gates re-attest Production every 90 days: nothing is asked the day before.
    assert run_reattestations(slack.runtime, now=entered + timedelta(days=89)) == 0
    due = a_monday_at_ten_after(entered + timedelta(days=90))
    assert run_reattestations(slack.runtime, now=due) == 1
    assert run_reattestations(slack.runtime, now=due + timedelta(minutes=15)) == 0  # once, however often it runs
    slack.deliver()

    for owner in ("UMARIA", "UDEV", "UERIN"):
        [dm] = [m for m in slack.dms_to(owner) if m["text"].startswith("Re-attestation requested")]
        assert [e["text"]["text"] for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
            "Confirm", "Cannot confirm", "View initiative"]
        assert "Re-attestation in Production" in dm["text"]
    assert "Drift monitored and within bounds" in str(reattestation_dm(slack, "UDEV")["blocks"])
    with slack.runtime.transaction() as session:
        review = session.exec(select(GateReview)).one()
        assert (review.kind, review.from_stage, review.to_stage, review.state) == (
            "reattestation", "production", "production", "open")
    answer = slack.command("submit AI-1")  # the way to Scaled waits until the owners have answered
    assert "re-attestation waiting for its owners" in answer["text"]
    # It waits on each owner's desk, answered there as in its DM.
    todo = slack.command("todo", user="UDEV")
    assert "Data owner sign-off · Re-attestation in Production" in str(todo["blocks"])
    assert [e["text"]["text"] for b in todo["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        "Confirm", "Cannot confirm"]

    # Unanswered after two business days, the owners are nudged like any sign-off.
    slack.emulator.clear()
    run_sweep(slack.runtime, now=due + timedelta(days=3))
    slack.deliver()
    nudge = [m for m in slack.dms_to("UMARIA") if m["blocks"][0]["text"]["text"].startswith("Sign-offs waiting")]
    assert len(nudge) == 1 and "Re-attestation in Production" in str(nudge[0]["blocks"])
    # Past its 10 business days, it escalates to the sponsor and the admins like an overdue sign-off.
    run_sweep(slack.runtime, now=due + timedelta(days=15))
    slack.deliver()
    for told in (SPONSOR, "UADMIN"):
        [escalation] = [m for m in slack.dms_to(told) if m["blocks"][0]["text"]["text"] == "Sign-offs past their SLA"]
        assert str(escalation["blocks"]).count("Re-attestation in Production") == 3

    # Maria cannot confirm that the business still uses it.
    dm = reattestation_dm(slack, "UMARIA")
    slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user="UMARIA", message=dm, channel=dm["channel"])
    modal = slack.opened_modal()
    assert modal["title"]["text"] == "Re-attest" and modal["submit"]["text"] == "Send answers"
    [waive] = [b for b in modal["blocks"] if b.get("block_id") == ids.WAIVE_BLOCK]
    assert waive["label"]["text"] == "Items you cannot confirm"
    no = {ids.VALUE: {"type": "multi_static_select", "selected_options": waive["element"]["options"]}}
    assert slack.submit(modal, {ids.WAIVE_BLOCK: no, ids.WAIVE_REASON_BLOCK: text("Sales moved to the new CRM")},
                        user="UMARIA") == {}
    slack.deliver()

    [flag] = flags(slack)
    assert (flag.kind, flag.raised_by, flag.cleared_at) == ("at_risk", "UMARIA", None)
    assert "Still in use by the business" in flag.detail and "Sales moved to the new CRM" in flag.detail
    assert audit_actions(slack)[-2:] == ["signoff.approved", "initiative.at_risk"]
    for told in (SPONSOR, "UADMIN"):
        [news] = [m for m in slack.dms_to(told) if "flagged At risk" in m["text"]]
        assert "Sales moved to the new CRM" in str(news["blocks"])
    assert [m for m in slack.dms_to("UDEV") if "flagged" in m["text"]] == []  # owners are not the audience
    shown = slack.command("show AI-1", user="UDEV")
    assert "At risk" in str(shown["blocks"]) and "Sales moved to the new CRM" in str(shown["blocks"])
    digest = slack.command("digest", user="UMARIA")["text"]
    assert "Flagged after go-live (1)" in digest
    assert ("At risk AI-1 Churn model — in Production: Business owner could not confirm “Still in use by the "
            "business”: Sales moved to the new CRM") in digest


def test_every_owner_confirming_clears_at_risk_and_schedules_the_next(slack: Slack):
    entered = in_production(slack)
    assert ("Re-attested every 90 days by Business owner, Data owner, Engineering owner · models older than 180 "
            "days are stale") in str(slack.command("gates")["blocks"])
    first = a_monday_at_ten_after(entered + timedelta(days=90))
    run_reattestations(slack.runtime, now=first)
    slack.deliver()
    dm = reattestation_dm(slack, "UMARIA")
    slack.click(ids.REQUEST_CHANGES, button(dm, ids.REQUEST_CHANGES)["value"], user="UMARIA", message=dm,
                channel=dm["channel"])
    modal = slack.opened_modal()
    assert modal["title"]["text"] == "Cannot confirm"
    assert slack.submit(modal, {ids.REASON_BLOCK: text("Nobody has looked at it since May")}, user="UMARIA") == {}
    assert [f.kind for f in flags(slack)] == ["at_risk"]

    # The next falls due 90 days after the last opened; every owner confirms it this time.
    assert run_reattestations(slack.runtime, now=first + timedelta(days=89)) == 0
    assert run_reattestations(slack.runtime, now=first + timedelta(days=90, hours=1)) == 1
    slack.emulator.clear()
    slack.deliver()
    for owner in ("UMARIA", "UDEV", "UERIN"):
        dm = reattestation_dm(slack, owner)
        slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user=owner, message=dm, channel=dm["channel"])
        modal = slack.opened_modal()
        assert slack.submit(modal, ticked_all(modal), user=owner) == {}
    slack.deliver()

    [flag] = flags(slack)
    assert flag.cleared_at is not None and flag.cleared_by == "UERIN"
    assert audit_actions(slack)[-2:] == ["reattestation.completed", "initiative.at_risk_cleared"]
    history = str(slack.command("history AI-1")["blocks"])
    print(history)
    assert "The bot asked the Business owner, Data owner and Engineering owner of AI-1 to re-attest it" in history
    assert "<@UMARIA> flagged AI-1 At risk" in history and "AI-1 is no longer flagged At risk" in history
    with slack.runtime.transaction() as session:
        assert session.exec(select(Initiative)).one().stage == "production"  # a re-attestation moves nothing
        assert {s.state for s in session.exec(select(SignOff).where(SignOff.review_id == 2))} == {"approved"}
    assert not [m for m in slack.emulator.messages(DIGEST_CHANNEL) if "passed" in m["text"]]  # no gate announcement


def version_answer(created: datetime, version: str = "7") -> dict[str, Any]:
    return {"model_version": {"name": "churn", "version": version,
                              "creation_timestamp": int(created.timestamp() * 1000)}}


def test_a_model_older_than_its_stage_allows_is_flagged_stale_and_unknown_is_never_fresh(slack: Slack):
    slack.runtime.settings = slack.runtime.settings.model_copy(update={"mlflow_tracking_uri": MLFLOW})
    in_production(slack, model="churn")
    now = datetime.now(UTC)
    alias = f"{MLFLOW}/api/2.0/mlflow/registered-models/alias"

    with respx.mock() as mlflow:
        asked = mlflow.get(alias, params={"name": "churn", "alias": "champion"}).mock(
            return_value=httpx.Response(200, json=version_answer(now - timedelta(days=200))))
        run_integration_checks(slack.runtime)
        run_integration_checks(slack.runtime)  # asked again only after an hour
        slack.deliver()
    assert asked.call_count == 1

    [flag] = flags(slack)
    assert flag.kind == "stale_model" and "version 7 (@champion)" in flag.detail and "180 days" in flag.detail
    for told in (SPONSOR, "UADMIN"):
        assert [m for m in slack.dms_to(told) if "flagged Stale model" in m["text"]]
    assert "Stale model" in str(slack.command("show AI-1")["blocks"])
    # The re-attestation answers "Retrained within policy" from it, for the engineering owner to see.
    run_reattestations(slack.runtime, now=now + timedelta(days=91))
    slack.deliver()
    assert "Retrained within policy — ❌ failed: version 7 (@champion) created" in str(
        reattestation_dm(slack, "UERIN")["blocks"])

    # MLflow down: unknown, and the flag stays.
    with respx.mock() as mlflow:
        mlflow.get(alias).mock(return_value=httpx.Response(503))
        with slack.runtime.transaction() as session:
            session.get(ModelCheck, 1).checked_at = now - timedelta(hours=2)
        run_integration_checks(slack.runtime)
    with slack.runtime.transaction() as session:
        check = session.get(ModelCheck, 1)
        assert (check.state, check.version) == ("unknown", None) and "503" in check.evidence
    assert flags(slack)[0].cleared_at is None

    # A newer champion: fresh, and the flag clears.
    with respx.mock() as mlflow:
        mlflow.get(alias).mock(return_value=httpx.Response(200, json=version_answer(now - timedelta(days=3), "8")))
        with slack.runtime.transaction() as session:
            session.get(ModelCheck, 1).checked_at = now - timedelta(hours=2)
        run_integration_checks(slack.runtime)
    assert flags(slack)[0].cleared_at is not None
    assert [a for a in audit_actions(slack) if "stale_model" in a] == [
        "initiative.stale_model", "initiative.stale_model_cleared"]
