"""What the integration jobs call (bot/jobs/integrations.py): deliver due webhooks; check due evidence links and
automatic (MLflow) checks.

Webhooks: each due delivery is claimed (compare-and-set, short transaction), posted with a timeout, and its
outcome recorded in its own transaction with the endpoint row locked. A failure is retried with exponential
backoff and jitter up to WEBHOOK_MAX_ATTEMPTS; every failed attempt adds to the endpoint's consecutive failures
(a success resets them). At WEBHOOK_DISABLE_AFTER_FAILURES the endpoint is disabled, its pending deliveries
fail, and every admin gets a DM through the outbox, in that same transaction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.delivery.outbox import enqueue
from bot.delivery.retry import RetryPolicy
from bot.integrations import evidence as evidence_links
from bot.integrations.http import guarded_client
from bot.integrations.mlflow import CheckResult, MlflowRegistry
from bot.integrations.targets import evidence_policy, mlflow_policy, webhook_policy
from bot.integrations.webhooks import Attempt, deliver
from bot.services.access.service import list_admins
from bot.services.scheduling import JobRuntime
from bot.services.webhooks import automatic_checks, evidence
from bot.services.webhooks.service import claim_due
from storage.models import WebhookDelivery, WebhookEndpoint
from storage.types import utcnow

log = logging.getLogger(__name__)

CLAIM_SECONDS = 120.0  # longer than one POST can take (the client timeout), so a live worker keeps its claim
BATCH = 50


@dataclass
class WebhookReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    disabled: int = 0


def retry_policy(runtime: JobRuntime) -> RetryPolicy:
    return RetryPolicy(base_delay=30.0, max_delay=6 * 3600.0, max_attempts=runtime.settings.webhook_max_attempts,
                       claim_seconds=CLAIM_SECONDS, request_timeout=runtime.settings.outbound_timeout_seconds)


def deliver_webhooks(runtime: JobRuntime, *, now: datetime | None = None, policy: RetryPolicy | None = None
                     ) -> WebhookReport:
    """One pass over the due deliveries (at most BATCH)."""
    policy = policy or retry_policy(runtime)
    report = WebhookReport()
    with runtime.transaction() as session:
        claimed = [(d.id, d.claim_token, d.endpoint_id, d.message_id, d.payload)
                   for d in claim_due(session, now=now or utcnow(), claim_seconds=CLAIM_SECONDS, limit=BATCH)]
    if not claimed:
        return report
    settings = runtime.settings
    with guarded_client(webhook_policy(settings), timeout=settings.outbound_timeout_seconds) as client:
        for delivery_id, token, endpoint_id, message_id, payload in claimed:
            with runtime.transaction() as session:
                endpoint = session.get(WebhookEndpoint, endpoint_id)
                target = (endpoint.url, endpoint.secret) if endpoint and endpoint.enabled else None
            if target is None:
                attempt = Attempt(False, None, "endpoint disabled")
            else:
                attempt = _post(client, target, message_id, payload)
            _record(runtime, delivery_id, token, attempt, policy, report)
    return report


def _post(client: httpx.Client, target: tuple[str, str], message_id: str, payload: dict) -> Attempt:
    url, secret = target
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return deliver(client, url=url, secret=secret, message_id=message_id, body=body,
                   timestamp=int(utcnow().timestamp()))


def _record(runtime: JobRuntime, delivery_id: int, token: str | None, attempt: Attempt, policy: RetryPolicy,
            report: WebhookReport) -> None:
    now = utcnow()
    with runtime.transaction() as session:
        delivery = session.exec(select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.claim_token == token,
            WebhookDelivery.state == "pending")).first()
        if delivery is None:
            return  # our claim lapsed and another worker took it over
        endpoint = session.exec(select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id)
                                .with_for_update()).first()
        delivery.attempts += 1
        delivery.last_status, delivery.last_error = attempt.status_code, attempt.error
        delivery.claim_token = delivery.claimed_until = None
        if attempt.ok:
            delivery.state, delivery.finished_at = "sent", now
            report.sent += 1
            if endpoint is not None:
                endpoint.consecutive_failures = 0
                session.add(endpoint)
        else:
            if delivery.attempts >= policy.max_attempts or endpoint is None or not endpoint.enabled:
                delivery.state, delivery.finished_at = "failed", now
                report.failed += 1
            else:
                delivery.next_attempt_at = now + policy.backoff(delivery.attempts)
                report.retrying += 1
            if endpoint is not None and endpoint.enabled:
                _count_failure(runtime, session, endpoint, attempt, now, report)
        session.add(delivery)
        log.info("webhook %s to endpoint %s: %s", delivery.message_id, delivery.endpoint_id,
                 "sent" if attempt.ok else f"attempt {delivery.attempts} failed ({attempt.error})")


def _count_failure(runtime: JobRuntime, session: Session, endpoint: WebhookEndpoint, attempt: Attempt, now: datetime,
                   report: WebhookReport) -> None:
    endpoint.consecutive_failures += 1
    endpoint.last_error = attempt.error
    session.add(endpoint)
    if endpoint.consecutive_failures < runtime.settings.webhook_disable_after_failures:
        return
    endpoint.enabled, endpoint.disabled_at = False, now
    session.flush()
    session.execute(update(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id,
                                                  col(WebhookDelivery.state) == "pending")
                    .values(state="failed", last_error="endpoint disabled", finished_at=now,
                            claim_token=None, claimed_until=None))
    report.disabled += 1
    text = disabled_notice(endpoint)
    for admin in list_admins(session, team_id=endpoint.team_id, admin_user_ids=runtime.settings.admin_user_ids):
        enqueue(session, team_id=endpoint.team_id, method="chat.postMessage",
                payload={"channel": admin.user_id, "text": text},
                dedupe_key=f"webhook-disabled:{endpoint.id}:{now.isoformat()}:{admin.user_id}"[:200])
    log.warning("webhook endpoint %s disabled after %s failures (team %s)", endpoint.id,
                endpoint.consecutive_failures, endpoint.team_id)


def disabled_notice(endpoint: WebhookEndpoint) -> str:
    return (f":warning: Webhook {endpoint.id} ({endpoint.url}) was disabled after {endpoint.consecutive_failures} "
            f"failed deliveries in a row; the last error: {endpoint.last_error}. Fix the receiver, then register "
            f"it again: `/initiative webhooks remove {endpoint.id}` and `/initiative webhooks add {endpoint.url}`.")


def check_due_evidence(runtime: JobRuntime, *, now: datetime | None = None) -> int:
    """Check the evidence links that are due; returns how many were checked."""
    now = now or utcnow()
    with runtime.transaction() as session:
        due = evidence.claim_due_links(session, now=now)
    if not due:
        return 0
    settings = runtime.settings
    results = evidence_links.check_links([url for _, url in due], policy=evidence_policy(settings),
                                         timeout=settings.outbound_timeout_seconds,
                                         concurrency=settings.evidence_check_concurrency)
    # One transaction: the results and the chat.update of every pending sign-off DM whose flags they change.
    with runtime.transaction() as session:
        evidence.record_results(session, results={(team_id, url): results[url] for team_id, url in due},
                                now=utcnow())
    return len(due)


def run_automatic_checks(runtime: JobRuntime, *, now: datetime | None = None) -> int:
    """Run the automatic checklist items that are due; returns how many were run."""
    now = now or utcnow()
    with runtime.transaction() as session:
        due = [(check.id, check.spec) for check in automatic_checks.claim_due_checks(session, now=now)]
    if not due:
        return 0
    settings = runtime.settings
    results: dict[int, CheckResult] = {}
    if not settings.mlflow_tracking_uri:
        results = {check_id: CheckResult("unknown", "could not check: MLFLOW_TRACKING_URI is not set")
                   for check_id, _ in due}
    else:
        with guarded_client(mlflow_policy(settings), timeout=settings.outbound_timeout_seconds) as client:
            registry = MlflowRegistry(client, tracking_uri=settings.mlflow_tracking_uri,
                                      token=settings.mlflow_tracking_token)
            results = {check_id: registry.check(spec) for check_id, spec in due}
    with runtime.transaction() as session:
        automatic_checks.record_checks(session, results=results, now=utcnow())
    return len(due)


def run_checks(runtime: JobRuntime) -> None:
    """The integration-checks job: due evidence links, then due automatic checks."""
    check_due_evidence(runtime)
    run_automatic_checks(runtime)
