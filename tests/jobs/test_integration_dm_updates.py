"""Evidence re-checks and MLflow results update the pending sign-off DMs in place: the integration jobs as the
scheduler runs them, their chat.update delivered through the outbox to the Slack emulator (SQLite and
PostgreSQL); HTTP to the links and to MLflow is answered by respx."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.delivery.outbox import state_counts
from bot.jobs import scheduler
from bot.services.webhooks.scheduled import run_automatic_checks
from slack_emulator import validate_blocks
from storage.models import AutomaticCheck, EvidenceCheck
from storage.types import utcnow
from tests.services.webhooks.support import approve, open_review, with_mlflow_item
from tests.support.dns import fake_dns  # noqa: F401  (the links' hosts resolve from its table; autouse)
from tests.support.slack_app import slack_app, slack_emulator  # noqa: F401

CARD, GONE = "https://docs.example.com/card", "https://docs.example.com/gone"
MLFLOW = "https://93.184.215.16/api/2.0/mlflow"
PEOPLE = ("UBIZ", "UDATA", "UENG", "UADMIN")


@pytest.fixture
def app(slack_app):  # noqa: F811
    for user in PEOPLE:
        slack_app.emulator.add_user(user, user.lower())
    return slack_app


def _sign_off_dm(app, user: str) -> dict[str, Any]:
    """The sign-off request DM as it now stands in the user's Slack (after any chat.update)."""
    [dm] = [m for m in app.emulator.messages(app.emulator.dm_channel(user))
            if m["blocks"][0]["text"]["text"].startswith("Sign-off requested")]
    return dm


def _section(message: dict[str, Any], heading: str) -> str:
    return next(b["text"]["text"] for b in message["blocks"]
                if b["type"] == "section" and b.get("text", {}).get("text", "").startswith(heading))


def _line(text: str, fragment: str) -> str:
    return next(line for line in text.splitlines() if fragment in line)


def _updated_users(app) -> list[str]:
    """Whose DMs chat.update reached, in order."""
    users = {app.emulator.dm_channel(user): user for user in PEOPLE}
    return [users[call.params["channel"]] for call in app.emulator.calls_to("chat.update") if call.ok]


def _deliver(app) -> None:
    app.deliver_outbox()
    with app.runtime.transaction() as session:
        assert state_counts(session) | {"sent": 0} == {"pending": 0, "sent": 0, "failed": 0}


def _a_day_passes(app) -> None:
    # What a day does to the links: each is due its daily re-check.
    with app.runtime.transaction() as session:
        session.execute(update(EvidenceCheck).values(due_at=utcnow() - timedelta(seconds=1)))


def test_serve_and_scheduler_run_the_integration_jobs(runtime):
    built = scheduler.build(runtime)  # what `serve`, `socket` and `scheduler` start
    intervals = {job.id: job.trigger.interval for job in built.get_jobs()}
    assert intervals["integration_checks"] == timedelta(minutes=1)
    assert intervals["webhook_delivery"] == timedelta(seconds=15)


def test_a_link_that_breaks_or_mends_is_flagged_in_the_pending_dms_in_place(app, respx_mock):
    team = app.emulator.team_id
    respx_mock.get("https://93.184.215.15/card").respond(200)
    gone = respx_mock.get("https://93.184.215.15/gone").respond(404)
    _, _, sign_offs = open_review(app.runtime, team_id=team)
    _deliver(app)
    approve(app.runtime, sign_offs["data"], "UDATA", [CARD, GONE], team_id=team)
    _deliver(app)
    assert _updated_users(app) == ["UDATA"]  # the decision
    decided = _sign_off_dm(app, "UDATA")
    job = scheduler.build(app.runtime).get_job("integration_checks")

    job.func(*job.args, **job.kwargs)  # the scheduler's tick: the links attached by the approval are checked
    _deliver(app)

    assert _updated_users(app) == ["UDATA", "UBIZ", "UENG"]  # the pending DMs, once each
    for user in ("UBIZ", "UENG"):
        dm = _sign_off_dm(app, user)
        evidence = _section(dm, "*Evidence*")
        assert _line(evidence, "/gone").endswith(":warning: _broken: HTTP 404_")
        assert "broken" not in _line(evidence, "/card")
        assert any(b["type"] == "actions" for b in dm["blocks"])  # still waiting for a decision
        validate_blocks(dm["blocks"], "message")
    assert _sign_off_dm(app, "UDATA") == decided  # the decided DM keeps its outcome
    with app.runtime.transaction() as session:
        row = session.exec(select(EvidenceCheck).where(EvidenceCheck.url == GONE)).one()
        assert (row.state, row.detail) == ("broken", "HTTP 404")

    _a_day_passes(app)
    job.func(*job.args, **job.kwargs)  # still broken: nothing shown changes, nothing is sent
    _deliver(app)
    assert gone.call_count == 2
    assert _updated_users(app) == ["UDATA", "UBIZ", "UENG"]

    gone.respond(200)
    _a_day_passes(app)
    job.func(*job.args, **job.kwargs)
    _deliver(app)
    assert _updated_users(app) == ["UDATA", "UBIZ", "UENG", "UBIZ", "UENG"]
    assert all("broken" not in _section(_sign_off_dm(app, user), "*Evidence*") for user in ("UBIZ", "UENG"))


def test_mlflow_results_reach_the_engineering_owners_pending_dm(app, respx_mock):
    team = app.emulator.team_id
    with_mlflow_item(app.runtime, {"mlflow_model": "churn", "alias": "champion"}, team_id=team)
    alias = respx_mock.get(f"{MLFLOW}/registered-models/alias").mock(side_effect=httpx.ConnectTimeout("slow"))
    open_review(app.runtime, team_id=team)

    assert run_automatic_checks(app.runtime) == 1  # before the DMs went out: the update waits for its post
    _deliver(app)
    assert _updated_users(app) == ["UENG"]
    item = "The model has a champion version"
    assert _line(_section(_sign_off_dm(app, "UENG"), "*Your checklist*"), item).endswith("— ⚠️ could not check")
    assert item not in _section(_sign_off_dm(app, "UBIZ"), "*Your checklist*")

    # MLflow still down, failing differently: the DM already says "could not check", so it is left alone.
    alias.mock(side_effect=None, return_value=httpx.Response(503))
    assert run_automatic_checks(app.runtime, now=utcnow() + timedelta(minutes=16)) == 1
    _deliver(app)
    assert alias.call_count == 2 and _updated_users(app) == ["UENG"]

    alias.mock(return_value=httpx.Response(
        200, json={"model_version": {"name": "churn", "version": "7", "run_id": "abc123"}}))
    assert run_automatic_checks(app.runtime, now=utcnow() + timedelta(minutes=32)) == 1
    _deliver(app)
    assert _updated_users(app) == ["UENG", "UENG"]
    line = _line(_section(_sign_off_dm(app, "UENG"), "*Your checklist*"), item)
    assert "— ✅ passed: churn version 7 is @champion, run abc123" in line
    with app.runtime.transaction() as session:
        assert session.exec(select(AutomaticCheck.outcome)).one() == "passed"
