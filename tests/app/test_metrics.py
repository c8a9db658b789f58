"""What /metrics reads from the database, and what the scheduled jobs count (the whole of /metrics, from a running
`serve` with two workers, is scraped in tests/cli/test_serve.py)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.engine import make_url

from bot.adapters.nudges import run_sweep
from bot.delivery.outbox import enqueue
from bot.jobs import scheduler
from bot.metrics import exposition, timed_job
from bot.runtime import Runtime
from bot.services.initiatives.service import create_initiative
from bot.services.webhooks.service import add_endpoint
from bot.wiring import build_runtime
from storage.db import make_engine
from storage.models import OutboxMessage
from storage.types import utcnow
from tests.services.nudges.support import logged, open_review
from tests.support.factories import TEAM, actor
from tests.support.tcp_proxy import TcpProxy
from tests.support.webhooks import WebhookReceiver

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}
ASKED = datetime(2026, 11, 9, 10, 0, tzinfo=UTC)  # a Monday
PAST_THE_SLA = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)  # the owners are nudged; sponsor and admins escalated to


def scrape_engine(engine) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[no-untyped-def]
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(exposition(engine).decode())
            for sample in family.samples}


def scrape(runtime: Runtime) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return scrape_engine(runtime.engine)


def test_a_scrape_answers_database_down_while_the_database_stalls_instead_of_hanging(postgres_url: str) -> None:
    """A stalled database (connections open, nothing answered) must not hang the scrape: Prometheus would see a
    timeout and no `database_up` at all. The scrape gives up after its own deadline, while the stall goes on."""
    url = make_url(postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432, lifetime=120) as proxy:
        engine = make_engine(url.set(port=proxy.port).render_as_string(hide_password=False))
        try:
            assert scrape_engine(engine)[("initiative_bot_database_up", ())] == 1
            proxy.pause()
            assert scrape_engine(engine)[("initiative_bot_database_up", ())] == 0
            assert proxy.running, "the scrape only answered once the stall ended"
        finally:
            proxy.resume()
            engine.dispose()


def test_the_outbox_depth_and_the_age_of_its_oldest_pending_message_by_kind(runtime: Runtime) -> None:
    with runtime.transaction() as session:
        for text in ("a", "b"):
            enqueue(session, team_id=TEAM, method="chat.postMessage", payload={"channel": "U1", "text": text})
        enqueue(session, team_id=TEAM, method="views.publish", payload={"user_id": "U1", "view": {}})
        session.flush()
        session.exec(update(OutboxMessage).where(OutboxMessage.method == "chat.postMessage")  # type: ignore[call-overload]
                     .values(created_at=utcnow() - timedelta(minutes=11)))

    samples = scrape(runtime)

    assert samples[("initiative_bot_outbox_pending", (("kind", "chat.postMessage"),))] == 2
    assert samples[("initiative_bot_outbox_pending", (("kind", "views.publish"),))] == 1
    assert samples[("initiative_bot_outbox_oldest_pending_age_seconds", (("kind", "chat.postMessage"),))] > 600
    assert samples[("initiative_bot_outbox_oldest_pending_age_seconds", (("kind", "views.publish"),))] < 600
    assert samples[("initiative_bot_database_up", ())] == 1


def test_a_webhook_job_run_counts_its_run_and_each_delivery(runtime: Runtime) -> None:
    settings = runtime.settings.model_copy(update={"outbound_allow_private": True, "outbound_allow_http": True,
                                                   "slack_bot_token": "xoxb-unused"})
    wired = build_runtime(settings)  # with the handlers that queue webhook deliveries
    with WebhookReceiver() as receiver:
        with wired.transaction() as session:
            add_endpoint(session, actor=actor("UADMIN", admin=True), settings=settings, url=receiver.url + "/hook")
            create_initiative(session, actor=actor("UBIZ"), title="Churn model", owners=OWNERS)
        job = scheduler.build(wired).get_job("webhook_delivery")
        runs, sent = _value("job_runs_total", job="webhook_delivery", result="ok"), _value(
            "webhook_deliveries_total", outcome="sent")

        job.func(*job.args)

        assert receiver.received
    assert _value("job_runs_total", job="webhook_delivery", result="ok") == runs + 1
    assert _value("webhook_deliveries_total", outcome="sent") == sent + len(receiver.received)
    wired.engine.dispose()


def test_a_job_that_fails_is_counted_as_failed_and_still_raises() -> None:
    def broken() -> None:
        raise RuntimeError("the database went away")

    before = _value("job_runs_total", job="test_broken", result="failed")

    with pytest.raises(RuntimeError):
        timed_job("test_broken", broken)()

    assert _value("job_runs_total", job="test_broken", result="failed") == before + 1
    assert _value("job_duration_seconds_count", job="test_broken") >= 1


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(f"initiative_bot_{name}", labels) or 0.0


def test_a_nudge_sweep_counts_the_nudges_and_escalations_it_wrote(runtime: Runtime) -> None:
    open_review(runtime, asked=ASKED)
    before = {kind: _value("nudges_total", kind=kind) for kind in ("nudge", "escalation")}

    sweep = timed_job("nudge_sweep", run_sweep, scheduler.RESULT_METRICS["nudge_sweep"])
    sweep(runtime, now=PAST_THE_SLA)

    written = Counter(kind for _, kind, _ in logged(runtime))
    assert written["nudge"] and written["escalation"]
    assert {kind: _value("nudges_total", kind=kind) - before[kind] for kind in before} == written
