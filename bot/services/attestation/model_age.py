"""Models that go stale: the age of each initiative's MLflow model against its stage's `max_model_age_days`.

The version that counts is the one behind the stage's `model_alias` (default `champion`), or the newest when the
model has no such alias. Older than the limit: **Stale model** (a flag, audited and announced); within it: fresh,
and a Stale model flag clears. When MLflow cannot be asked, or has no such model, the answer is "unknown", never
"fresh": the flag stays as it was, and `show` and the re-attestation say that the age is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.integrations.mlflow import ModelVersion
from bot.services.attestation.service import STALE_MODEL, clear_flag, raise_flag
from bot.services.gates.service import SYSTEM_ACTOR, GateCatalog
from storage.models import Initiative, ModelCheck

FRESH, STALE, UNKNOWN = "fresh", "stale", "unknown"
# The job runs every minute; a model's age moves slowly, and MLflow is asked about each model at most this often
# (an unknown answer is asked again sooner).
ASK_AGAIN_AFTER = {FRESH: timedelta(hours=1), STALE: timedelta(hours=1), UNKNOWN: timedelta(minutes=15)}


@dataclass(frozen=True)
class ModelToCheck:
    initiative_id: int
    model_name: str
    alias: str
    max_age_days: int


def models_to_check(session: Session, *, team_id: str, catalog: GateCatalog, now: datetime) -> list[ModelToCheck]:
    """Active initiatives that name a model, in a stage with a `max_model_age_days`, not asked about lately."""
    stages = {stage.id: stage for stage in catalog.stages if stage.max_model_age_days}
    if not stages:
        return []
    rows = session.exec(
        select(Initiative.id, Initiative.stage, Initiative.mlflow_model, ModelCheck.model_name, ModelCheck.state,
               ModelCheck.checked_at)
        .outerjoin(ModelCheck, col(ModelCheck.initiative_id) == Initiative.id)
        .where(Initiative.team_id == team_id, Initiative.status == "active", col(Initiative.stage).in_(list(stages)),
               col(Initiative.mlflow_model).is_not(None), Initiative.mlflow_model != "")
        .order_by(col(Initiative.id)))
    result = []
    for initiative_id, stage_id, model, asked_about, state, checked_at in rows:
        if asked_about == model and checked_at + ASK_AGAIN_AFTER[state] > now:
            continue
        stage = stages[stage_id]
        assert initiative_id is not None and model and stage.max_model_age_days
        result.append(ModelToCheck(initiative_id, model, stage.model_alias, stage.max_model_age_days))
    return result


def judge(found: ModelVersion, *, max_age_days: int, now: datetime) -> str:
    if found.created_at is None:
        return UNKNOWN
    return STALE if now - found.created_at > timedelta(days=max_age_days) else FRESH


def record_model_age(session: Session, *, wanted: ModelToCheck, found: ModelVersion, now: datetime) -> ModelCheck:
    """Keep what MLflow said about the initiative's model, and raise or clear its Stale model flag."""
    initiative = session.get(Initiative, wanted.initiative_id)
    assert initiative is not None
    state = judge(found, max_age_days=wanted.max_age_days, now=now)
    check = session.get(ModelCheck, wanted.initiative_id) or ModelCheck(initiative_id=wanted.initiative_id,
                                                                        team_id=initiative.team_id,
                                                                        model_name=wanted.model_name, state=state)
    check.model_name, check.state, check.version = wanted.model_name, state, found.version
    check.version_created_at, check.evidence, check.checked_at = found.created_at, found.evidence[:500], now
    session.add(check)
    session.flush()
    if state == STALE:
        raise_flag(session, initiative=initiative, kind=STALE_MODEL, actor=SYSTEM_ACTOR, now=now,
                   detail=f"{wanted.model_name}: {found.evidence}; the limit is {wanted.max_age_days} days")
    elif state == FRESH:
        clear_flag(session, initiative=initiative, kind=STALE_MODEL, actor=SYSTEM_ACTOR, now=now,
                   why=f"{wanted.model_name}: {found.evidence}")
    return check


def model_check_of(session: Session, *, initiative: Initiative) -> ModelCheck | None:
    """What MLflow last said about the initiative's model (None: not asked yet, or it names another model now)."""
    check = session.get(ModelCheck, initiative.id)
    return check if check is not None and check.model_name == initiative.mlflow_model else None
