"""`initiative-bot prune` and the daily job: old rows that have done their work go, in batches; the rest, and the
audit trail, stay."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.cli import main
from bot.runtime import Runtime
from bot.services.audit.service import record_audit
from bot.services.gates.workspaces import SYSTEM_ACTOR
from bot.services.retention.scheduled import daily_prune
from bot.services.retention.service import RULES, batch_query, prune
from storage.db import is_sqlite
from storage.models import (
    AuditEvent,
    Digest,
    DigestRun,
    DigestRunStep,
    NudgeLog,
    OutboxMessage,
    SlackEventReceipt,
    WebhookDelivery,
    WebhookEndpoint,
)
from storage.types import utcnow
from tests.support.factories import TEAM

NOW = utcnow()


def days_ago(days: int):  # type: ignore[no-untyped-def]
    return NOW - timedelta(days=days)


def seed(runtime: Runtime) -> None:
    """Of each kind, rows just past their retention (which go) and rows that must stay."""
    with runtime.transaction() as session:
        for n in range(3):
            record_audit(session, team_id=TEAM, actor=SYSTEM_ACTOR, action="test.event", subject_type="test",
                         subject_key=f"old-{n}")
        session.add_all([
            SlackEventReceipt(event_id="EvOld", team_id=TEAM, event_type="app_home_opened", received_at=days_ago(8)),
            SlackEventReceipt(event_id="EvNew", team_id=TEAM, event_type="app_home_opened", received_at=days_ago(6)),
        ])
        old_sent = [OutboxMessage(team_id=TEAM, method="chat.postMessage", payload={"text": str(n)}, state="sent",
                                  sent_at=days_ago(31)) for n in range(3)]
        session.add_all([
            *old_sent,
            OutboxMessage(team_id=TEAM, method="chat.postMessage", payload={}, state="sent", sent_at=days_ago(29)),
            OutboxMessage(team_id=TEAM, method="chat.postMessage", payload={}, state="failed", failed_at=days_ago(99)),
            OutboxMessage(team_id=TEAM, method="chat.postMessage", payload={}, created_at=days_ago(99)),  # pending
        ])
        session.flush()
        # An update still waiting needs its post's address: the post stays, however old.
        session.add(OutboxMessage(team_id=TEAM, method="chat.update", payload={}, depends_on=old_sent[0].id))
        endpoint = WebhookEndpoint(team_id=TEAM, url="https://hooks.example.com/x", secret="whsec_x", created_by="U1")
        session.add(endpoint)
        session.flush()
        session.add_all([
            WebhookDelivery(team_id=TEAM, endpoint_id=endpoint.id, message_id=f"msg_{n}", event_type="test",
                            payload={}, state=state, finished_at=finished)
            for n, (state, finished) in enumerate([("sent", days_ago(91)), ("failed", days_ago(91)),
                                                   ("sent", days_ago(89)), ("pending", None)])
        ])
        session.add_all([
            NudgeLog(team_id=TEAM, recipient="U1", local_date=date(2020, 1, 1), kind="nudge", created_at=days_ago(181)),
            NudgeLog(team_id=TEAM, recipient="U1", local_date=date(2020, 1, 2), kind="nudge", created_at=days_ago(179)),
        ])
        digest = Digest(team_id=TEAM, name="weekly", channel_id="C1", timezone="UTC", created_by="U1")
        session.add(digest)
        session.flush()
        runs = [DigestRun(team_id=TEAM, digest_id=digest.id, week=week, as_of=days_ago(800), state=state,
                          finished_at=finished)
                for week, state, finished in [("2024-W01", "posted", days_ago(731)), ("2024-W02", "posted",
                                              days_ago(729)), ("2024-W03", "posting", None)]]
        session.add_all(runs)
        session.flush()
        session.add(DigestRunStep(team_id=TEAM, run_id=runs[0].id, step="text", state="done"))


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.read() as session:
        return {model.__name__: session.exec(select(func.count()).select_from(model)).one()
                for model in (AuditEvent, SlackEventReceipt, OutboxMessage, WebhookDelivery, NudgeLog, DigestRun,
                              DigestRunStep)}


def test_prune_deletes_what_has_done_its_work_and_keeps_the_audit_trail_verifiable(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(runtime)
    before = counts(runtime)

    assert main(["prune", "--dry-run"]) == 0
    dry_run = capsys.readouterr().out
    assert counts(runtime) == before
    assert main(["prune"]) == 0
    pruned = capsys.readouterr().out

    expected = ("event receipts: 1; sent outbox messages: 2; webhook deliveries: 2; nudge logs: 1; "
                "finished digest runs: 1")
    assert dry_run == f"{expected} (would delete)\n"
    assert pruned == f"{expected} (deleted)\n"
    assert counts(runtime) == before | {
        "SlackEventReceipt": 1, "OutboxMessage": before["OutboxMessage"] - 2, "WebhookDelivery": 2, "NudgeLog": 1,
        "DigestRun": 2, "DigestRunStep": 0,
    }
    assert main(["audit", "verify", "--team", TEAM]) == 0
    assert f"verifies: {before['AuditEvent']} events checked" in capsys.readouterr().out


def test_prune_works_in_batches_and_the_daily_job_runs_once_a_day_across_replicas(runtime: Runtime) -> None:
    with runtime.transaction() as session:
        session.add_all([SlackEventReceipt(event_id=f"Ev{n}", team_id=TEAM, event_type="x", received_at=days_ago(8))
                         for n in range(5)])

    assert prune(runtime, batch=2)["event receipts"] == 5  # three batches: 2, 2, 1
    # One clock for all three: the real one may pass midnight between them.
    assert daily_prune(runtime, now=NOW) is not None
    assert daily_prune(runtime, now=NOW) is None  # another replica, the same day
    assert daily_prune(runtime, now=NOW + timedelta(days=1)) is not None


# Each rule's batch finds its rows through an index on its age: these tables only grow until pruned.
RULE_INDEXES = {
    "event receipts": "ix_slack_event_receipt_received_at",
    "sent outbox messages": "ix_outbox_message_state_sent_at",
    "webhook deliveries": "ix_webhook_delivery_state_finished_at",
    "nudge logs": "ix_nudge_log_created_at",
    "finished digest runs": "ix_digest_run_finished_at",
}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_a_prune_batch_finds_old_rows_by_their_age_index_not_by_reading_the_whole_table(runtime: Runtime,
                                                                                        rule) -> None:
    query = batch_query(rule, NOW, 1000)
    with runtime.engine.connect() as connection:
        if is_sqlite(runtime.engine):
            sql = str(query.compile(runtime.engine, compile_kwargs={"literal_binds": True}))
            plan = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
        else:
            # The tables are empty, where reading them whole is the cheapest plan: ask for the best plan
            # without that.
            connection.exec_driver_sql("SET enable_seqscan = off")
            sql = str(query.compile(runtime.engine, compile_kwargs={"literal_binds": True}))
            plan = [row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}")]
    assert any(RULE_INDEXES[rule.name] in step for step in plan), plan
