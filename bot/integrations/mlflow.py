"""Automatic checklist items against MLflow's model registry (REST API 2.0), over the guarded client.

A check is `{"mlflow_model": "<name>", "alias": "champion"}` or, for MLflow's deprecated stages,
`{"mlflow_model": "<name>", "stage": "Production"}` (compared here, on the client side, with each version's
`current_stage`). The answer is passed or failed with its evidence, or "unknown" when MLflow could not be asked
(unreachable, timed out, 5xx, refused our token): an unknown check neither passes nor fails the item.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from bot.integrations.http import OutboundFailed, OutboundRefused, fetch

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 2_000_000
SEARCH_PAGE = 200
MISSING = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


@dataclass(frozen=True)
class CheckResult:
    outcome: str  # passed | failed | unknown
    evidence: str


@dataclass(frozen=True)
class ModelVersion:
    """The registry's version behind an alias (or its latest): `created_at` None when MLflow could not be asked,
    or has no such model or version (`evidence` says which): then the model's age is unknown."""

    version: str | None
    created_at: datetime | None
    evidence: str


class _CouldNotCheck(Exception):
    pass


class MlflowRegistry:
    def __init__(self, client: httpx.Client, *, tracking_uri: str, token: str | None) -> None:
        self.client = client
        self.base = tracking_uri.rstrip("/")
        self.headers = {"authorization": f"Bearer {token}"} if token else {}

    def check(self, spec: dict[str, Any]) -> CheckResult:
        name = str(spec.get("mlflow_model") or "")
        if not name:
            return CheckResult("unknown", "could not check: the initiative names no MLflow model (mlflow_model)")
        try:
            if spec.get("alias"):
                return self._check_alias(name, str(spec["alias"]))
            return self._check_stage(name, str(spec.get("stage", "Production")))
        except _CouldNotCheck as exc:
            return CheckResult("unknown", f"could not check MLflow: {exc}")

    def version_for_age(self, name: str, alias: str) -> ModelVersion:
        """The version with `alias`, or the newest version when the model has no such alias, with its creation
        time (MLflow's `creation_timestamp`, milliseconds since the epoch)."""
        try:
            found = self._get("registered-models/alias", {"name": name, "alias": alias})
            if found is not None:
                return _created(found.get("model_version", {}), f"@{alias}")
            model = self._get("registered-models/get", {"name": name})
        except _CouldNotCheck as exc:
            return ModelVersion(None, None, f"could not ask MLflow: {exc}")
        if model is None:
            return ModelVersion(None, None, f"model {name} is not registered in MLflow")
        versions = model.get("registered_model", {}).get("latest_versions", [])
        if not versions:
            return ModelVersion(None, None, f"model {name} has no version in MLflow")
        return _created(max(versions, key=lambda v: int(v.get("version", 0))), "the latest version")

    def _check_alias(self, name: str, alias: str) -> CheckResult:
        found = self._get("registered-models/alias", {"name": name, "alias": alias})
        if found is None:
            if self._get("registered-models/get", {"name": name}) is None:
                return CheckResult("failed", f"model {name} is not registered in MLflow")
            return CheckResult("failed", f"model {name} has no version with alias @{alias}")
        version = found.get("model_version", {})
        return CheckResult("passed", f"{name} version {version.get('version')} is @{alias}"
                                     f"{_run(version)} ({self._link(name, version.get('version'))})")

    def _check_stage(self, name: str, stage: str) -> CheckResult:
        if self._get("registered-models/get", {"name": name}) is None:
            return CheckResult("failed", f"model {name} is not registered in MLflow")
        # The filter language quotes with single quotes; a quote inside a name is doubled.
        found = self._get("model-versions/search",
                          {"filter": "name='{}'".format(name.replace("'", "''")), "max_results": str(SEARCH_PAGE)})
        versions = (found or {}).get("model_versions", [])
        in_stage = [v for v in versions if str(v.get("current_stage", "")).lower() == stage.lower()]
        if not in_stage:
            return CheckResult("failed", f"model {name} has no version in stage {stage}")
        best = max(in_stage, key=lambda v: int(v.get("version", 0)))
        return CheckResult("passed", f"{name} version {best.get('version')} is in stage {stage}{_run(best)} "
                                     f"({self._link(name, best.get('version'))})")

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any] | None:
        """The JSON answer, None for MLflow's RESOURCE_DOES_NOT_EXIST; anything else cannot be checked."""
        try:
            answer = fetch(self.client, "GET", f"{self.base}/api/2.0/mlflow/{path}", params=params,
                           headers=self.headers, max_bytes=MAX_ANSWER_BYTES)
        except (OutboundFailed, OutboundRefused) as exc:
            raise _CouldNotCheck(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - one check's surprise must not stop the others
            log.warning("MLflow check failed unexpectedly (%s)", type(exc).__name__)
            raise _CouldNotCheck(f"unexpected {type(exc).__name__}") from None
        # A missing model is 404 RESOURCE_DOES_NOT_EXIST; a missing alias is reported by some stores as
        # 400 INVALID_PARAMETER_VALUE. Anything else (an HTML 404 from a wrong URL) is not an answer.
        if answer.status_code in (400, 404) and _json(answer.body).get("error_code") in MISSING:
            return None
        if answer.status_code != 200:
            raise _CouldNotCheck(f"MLflow answered HTTP {answer.status_code}")
        return _json(answer.body)

    def _link(self, name: str, version: object) -> str:
        return f"{self.base}/#/models/{quote(name, safe='')}/versions/{version}"


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        raise _CouldNotCheck("MLflow's answer was not JSON") from None
    return parsed if isinstance(parsed, dict) else {}


def _created(version: dict[str, Any], which: str) -> ModelVersion:
    number, stamp = version.get("version"), version.get("creation_timestamp")
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        return ModelVersion(str(number), None, f"MLflow gave no creation time for version {number}")
    created = datetime.fromtimestamp(stamp / 1000, UTC)
    return ModelVersion(str(number), created, f"version {number} ({which}) created {created:%Y-%m-%d}")


def _run(version: dict[str, Any]) -> str:
    return f", run {version['run_id']}" if version.get("run_id") else ""
