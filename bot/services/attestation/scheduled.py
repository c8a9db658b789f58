"""What the jobs call: the re-attestation job (bot/jobs/attestation.py) opens the re-attestations that fell due and
holds those left unanswered too long; the integration-checks job (bot/jobs/integrations.py) runs
`run_integration_checks`: the webhooks domain's due evidence links and automatic checks, then the age of each
initiative's MLflow model.

Each run decides from the database what is due, so a missed run needs no catch-up, and two replicas open one
re-attestation at most (the one-open-review index) and raise a flag once (the one-open-flag index).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.integrations.http import guarded_client
from bot.integrations.mlflow import MlflowRegistry, ModelVersion
from bot.integrations.targets import mlflow_policy
from bot.services.attestation.service import (
    ModelToCheck,
    due_reattestations,
    hold_unanswered,
    models_to_check,
    open_reattestation,
    record_model_age,
)
from bot.services.gates.service import catalog_for, workspace_ids
from bot.services.scheduling import JobRuntime
from bot.services.webhooks import scheduled as webhooks
from storage.types import utcnow

TICK_MINUTES = 15

log = logging.getLogger(__name__)


def run_reattestations(runtime: JobRuntime, *, now: datetime | None = None) -> int:
    """Open every re-attestation that is due and hold the initiatives that left one unanswered too long, in one
    transaction; returns how many were opened."""
    now = (now or utcnow()).astimezone(UTC)
    opened = 0
    with runtime.transaction() as session:
        for team_id in workspace_ids(session):
            catalog = catalog_for(session, team_id=team_id)
            hold_unanswered(session, team_id=team_id, catalog=catalog, now=now)
            for due in due_reattestations(session, team_id=team_id, catalog=catalog, now=now):
                opened += open_reattestation(session, due=due, catalog=catalog, now=now) is not None
    if opened:
        log.info("re-attestations: %d opened", opened)
    return opened


def run_integration_checks(runtime: JobRuntime) -> None:
    """The integration-checks job: due evidence links and automatic checks, then the models' ages."""
    webhooks.run_checks(runtime)
    check_model_ages(runtime)


def check_model_ages(runtime: JobRuntime, *, now: datetime | None = None) -> int:
    """Ask MLflow (outside any transaction) for the version of each model that counts, then record the answers
    and raise or clear Stale model flags in one transaction; returns how many models were asked about."""
    now = (now or utcnow()).astimezone(UTC)
    with runtime.read() as session:
        wanted = [model for team_id in workspace_ids(session)
                  for model in models_to_check(session, team_id=team_id, now=now,
                                                catalog=catalog_for(session, team_id=team_id))]
    if not wanted:
        return 0
    answers = _ask(runtime, wanted)
    with runtime.transaction() as session:
        for model, found in zip(wanted, answers, strict=True):
            record_model_age(session, wanted=model, found=found, now=now)
    return len(wanted)


def _ask(runtime: JobRuntime, wanted: list[ModelToCheck]) -> list[ModelVersion]:
    settings = runtime.settings
    if not settings.mlflow_tracking_uri:
        return [ModelVersion(None, None, "could not ask MLflow: MLFLOW_TRACKING_URI is not set")] * len(wanted)
    with guarded_client(mlflow_policy(settings), timeout=settings.outbound_timeout_seconds) as client:
        registry = MlflowRegistry(client, tracking_uri=settings.mlflow_tracking_uri,
                                  token=settings.mlflow_tracking_token)
        return [registry.version_for_age(model.model_name, model.alias) for model in wanted]
