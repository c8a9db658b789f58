"""Prometheus metrics: what the processes count as they work, and what the database holds, read at each scrape.

Counted in the process (prometheus_client; under `serve` in its multiprocess mode, so that every gunicorn worker's
counts reach `/metrics`, those of workers that have exited included: `bot.cli.serve` sets that up):
- Slack requests by surface and outcome, and the time to acknowledge them (`bot.web`, `bot.app`);
- Slack Web API calls by method and result, and the sender's retries (`bot.delivery`);
- scheduled job runs and their duration, nudges and escalations, digest runs, webhook deliveries (`bot.jobs`).

Read from the database at each scrape (`DatabaseCollector`), so every replica reports the same, and nothing is
lost when a process restarts: the outbox's depth and the age of its oldest pending message by kind, the age of the
newest audit event, the last `audit verify`, and whether the database answered at all.

No label takes an unbounded value: surfaces, outcomes, Web API method names and job ids are finite sets named by
our code. Never a user id, an initiative key, a team id or a URL.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import AuditEvent, AuditVerification, OutboxMessage
from storage.types import utcnow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "initiative_bot"
# A scrape reads the database within this: Prometheus gives up on a scrape after 10 s by default, and a stalled
# database should show as initiative_bot_database_up 0, not as a scrape that never answers.
SCRAPE_DATABASE_SECONDS = 5
# Acknowledgements must leave within Slack's 3 seconds; the buckets resolve the range that matters.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)

logger = logging.getLogger(__name__)

SLACK_REQUESTS = Counter(
    f"{PREFIX}_slack_requests", "Requests from Slack, by surface and outcome (ok, refused, error, deduplicated).",
    ["surface", "outcome"])
ACK_SECONDS = Histogram(
    f"{PREFIX}_slack_ack_seconds", "Time from a Slack request's arrival to its acknowledgement, by surface.",
    ["surface"], buckets=ACK_BUCKETS)
LISTENER_ERRORS = Counter(
    f"{PREFIX}_slack_listener_errors", "Errors in the work done for a Slack request after it was acknowledged.",
    ["surface"])
SLACK_API_CALLS = Counter(
    f"{PREFIX}_slack_api_calls", "Slack Web API calls, by method and result (ok, rate_limited, error, "
    "server_error, network_error).", ["method", "result"])
SLACK_API_RETRIES = Counter(
    f"{PREFIX}_slack_api_retries", "Outbox messages put back for a later try, by method and reason "
    "(rate_limited, transient).", ["method", "reason"])
JOB_RUNS = Counter(f"{PREFIX}_job_runs", "Scheduled job runs, by job and result (ok, failed).", ["job", "result"])
JOB_SECONDS = Histogram(f"{PREFIX}_job_duration_seconds", "Duration of scheduled job runs, by job.", ["job"],
                        buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0))
NUDGES = Counter(f"{PREFIX}_nudges", "Nudge and escalation DMs written to the outbox, by kind.", ["kind"])
DIGEST_RUNS = Counter(f"{PREFIX}_digest_runs", "Digest runs, by outcome (started, retried, posted, failed).",
                      ["outcome"])
WEBHOOK_DELIVERIES = Counter(
    f"{PREFIX}_webhook_deliveries", "Webhook delivery attempts, by outcome (sent, retrying, failed, disabled).",
    ["outcome"])


def slack_api_result(status_code: int | None) -> str:
    """The `result` label of a Web API call that raised (None: no HTTP answer at all)."""
    if status_code is None:
        return "network_error"
    if status_code == 429:
        return "rate_limited"
    return "server_error" if status_code >= 500 else "error"


class DatabaseCollector(Collector):
    """Gauges read from the database at each scrape, in a read-only transaction that gives up after
    SCRAPE_DATABASE_SECONDS."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(f"{PREFIX}_database_up", "1 when the database answered this scrape's queries.")
        try:
            gauges = list(self._read(utcnow()))
        except Exception:
            logger.warning("metrics: the database did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from gauges

    def _read(self, now: datetime) -> Iterable[Metric]:
        depth = GaugeMetricFamily(f"{PREFIX}_outbox_pending", "Outbox messages waiting to be sent, by kind.",
                                  labels=["kind"])
        oldest = GaugeMetricFamily(f"{PREFIX}_outbox_oldest_pending_age_seconds",
                                   "Age of the oldest outbox message waiting to be sent, by kind.", labels=["kind"])
        newest_event = GaugeMetricFamily(f"{PREFIX}_audit_newest_event_age_seconds",
                                         "Age of the newest audit event (absent while there is none).")
        verified_at = GaugeMetricFamily(f"{PREFIX}_audit_verify_last_timestamp_seconds",
                                        "When `initiative-bot audit verify` last ran (Unix time).")
        verified_ok = GaugeMetricFamily(f"{PREFIX}_audit_verify_last_ok",
                                        "1 when the last `audit verify` found the chain intact, 0 when broken.")
        # An intent's kind (an App Home, a DM refresh...) says more than its Web API method; plain calls have none.
        kind = func.coalesce(col(OutboxMessage.payload)["render"].as_string(), col(OutboxMessage.method))
        with session_scope(self.engine, lock_wait=SCRAPE_DATABASE_SECONDS, read_only=True) as session:
            pending = session.exec(
                select(kind, func.count(), func.min(OutboxMessage.created_at))
                .where(OutboxMessage.state == "pending").group_by(kind)
            ).all()
            newest = session.exec(select(func.max(AuditEvent.at))).one()
            last = session.exec(
                select(AuditVerification).order_by(col(AuditVerification.verified_at).desc()).limit(1)
            ).first()
        for name, count, created in pending:
            depth.add_metric([str(name)], count)
            oldest.add_metric([str(name)], _age(now, created))
        yield depth
        yield oldest
        if newest is not None:
            newest_event.add_metric([], _age(now, newest))
            yield newest_event
        if last is not None:
            verified_at.add_metric([], last.verified_at.timestamp())
            verified_ok.add_metric([], 1 if last.ok else 0)
            yield verified_at
            yield verified_ok


def _age(now: datetime, then: datetime) -> float:
    return max((now - then).total_seconds(), 0.0)


def registry_for(engine: Engine) -> CollectorRegistry:
    """What `/metrics` shows: every process's counts (in multiprocess mode; else this process's), and the
    database's gauges."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessCounts())
    registry.register(DatabaseCollector(engine))
    return registry


def exposition(engine: Engine) -> bytes:
    return generate_latest(registry_for(engine))


class _ProcessCounts(Collector):
    """This process's own metrics (the default registry), beside a DatabaseCollector that is not registered there."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def timed_job(job_id: str, run: Callable[..., Any], record: Callable[[Any], None] | None = None) -> Callable[..., Any]:
    """`run`, counting each call as a run of `job_id` (ok or failed) and timing it; `record(result)` turns what a run
    returns into the job's own metrics."""

    def measured(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = run(*args, **kwargs)
        except Exception:
            JOB_RUNS.labels(job_id, "failed").inc()
            raise
        finally:
            JOB_SECONDS.labels(job_id).observe(time.perf_counter() - started)
        JOB_RUNS.labels(job_id, "ok").inc()
        if record is not None:
            record(result)
        return result

    return measured
