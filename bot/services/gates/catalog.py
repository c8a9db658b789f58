"""The gate catalog: a typed, read-only view of one definition version (stages, gates, roles, checklists).

A definition is stored as a plain document (the same shape as the gates-as-code YAML), one immutable row per
version, so that an open review can keep reading the version it started under.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.services.errors import NotFound
from bot.services.validation import RISK_TIERS

DEFAULT_TEMPLATE = Path(__file__).with_name("default_gates.yml")
DEFAULT_WAIVER_DAYS = 30


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    label: str
    # An automatic item: checked by the bot (bot/services/webhooks/automatic_checks.py), e.g. {"mlflow_model": "churn",
    # "alias": "champion"}; its result pre-fills the owner's checklist.
    check: dict[str, Any] | None = None
    # The controls it evidences (FRAMEWORK:REFERENCE), named in the regulation controls catalog.
    controls: tuple[str, ...] = ()
    # "model_age": the age of the initiative's MLflow model answers it (a re-attestation's "retrained in policy").
    answered_by: str | None = None


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    signs_off: bool = True


# A re-attestation is reviewed like a gate that leads from a stage back to itself; its review's gate slug is this
# prefix and the stage id (a colon is never part of a gate id, so the two never clash).
REATTEST_PREFIX = "reattest:"
DEFAULT_MODEL_ALIAS = "champion"
LIVE_STAGE = "production"  # from this stage on an initiative is live: its KPIs are measured and reported


@dataclass(frozen=True)
class Stage:
    id: str
    name: str
    stall_after_days: int | None = None
    reattest_every_days: int | None = None
    reattest_checklist: dict[str, tuple[ChecklistItem, ...]] = field(default_factory=dict)
    reattest_sla_business_days: int = 10
    reattest_hold_after_days: int | None = None
    max_model_age_days: int | None = None
    model_alias: str = DEFAULT_MODEL_ALIAS

    def reattestation(self) -> Gate | None:
        """The stage's periodic re-attestation as a gate from the stage to itself: the roles with a re-attestation
        checklist sign it, whatever the risk tier, in the order of their ids (a stored definition's mappings keep
        no order on PostgreSQL). None when the stage has none."""
        if not self.reattest_every_days or not self.reattest_checklist:
            return None
        roles = tuple(sorted(self.reattest_checklist))
        return Gate(id=f"{REATTEST_PREFIX}{self.id}", name=f"Re-attestation in {self.name}", from_stage=self.id,
                    to_stage=self.id, required_roles=dict.fromkeys(RISK_TIERS, roles),
                    checklist=self.reattest_checklist, sla_business_days=self.reattest_sla_business_days)
    # Business days from entering this stage to the default target date of its next gate; None: no default.
    target_days: int | None = None
    kpi_stale_days: int = 45  # a live KPI with no actual for longer shows "no data"
    kpi_every_days: int = 30  # how often a live initiative's business owner is asked for actuals


@dataclass(frozen=True)
class Gate:
    id: str
    name: str
    from_stage: str
    to_stage: str
    required_roles: dict[str, tuple[str, ...]]
    checklist: dict[str, tuple[ChecklistItem, ...]]
    sla_business_days: int = 5
    nudge_first_after: int = 2
    nudge_every: int = 2
    waiver_days: int = DEFAULT_WAIVER_DAYS  # business days a waived checklist item stays waived by default
    condition_days: int = 10  # business days a condition given no date has
    conditions_block_next_gate: bool = False  # its open conditions refuse the next review

    def roles_for(self, risk_tier: str) -> tuple[str, ...]:
        return self.required_roles[risk_tier]

    def checklist_for(self, role: str) -> tuple[ChecklistItem, ...]:
        return self.checklist.get(role, ())


@dataclass(frozen=True)
class GateCatalog:
    version: int
    roles: dict[str, Role]
    stages: tuple[Stage, ...]
    gates: tuple[Gate, ...]
    holidays: tuple[date, ...] = ()

    @classmethod
    def from_document(cls, document: dict[str, Any], *, version: int) -> GateCatalog:
        roles = {
            role_id: Role(id=role_id, name=spec.get("name", role_id), signs_off=spec.get("signs_off", True))
            for role_id, spec in document["roles"].items()
        }
        stages = tuple(_stage_from_document(s) for s in document["stages"])
        gates = tuple(_gate_from_document(g) for g in document["gates"])
        holidays = tuple(date.fromisoformat(str(d)) for d in document.get("holidays", []))
        return cls(version=version, roles=roles, stages=stages, gates=gates, holidays=holidays)

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise NotFound(f"There is no stage '{stage_id}'. Stages: {', '.join(s.id for s in self.stages)}.")

    def stage_index(self, stage_id: str) -> int:
        return self.stages.index(self.stage(stage_id))

    def is_live(self, stage_id: str) -> bool:
        """Production or later: the stage `production` and every stage after it, where value is measured."""
        ids = [stage.id for stage in self.stages]
        return LIVE_STAGE in ids and stage_id in ids and ids.index(stage_id) >= ids.index(LIVE_STAGE)

    def first_stage(self) -> Stage:
        return self.stages[0]

    def next_gate(self, from_stage: str) -> Gate | None:
        return next((g for g in self.gates if g.from_stage == from_stage), None)

    def gate(self, gate_id: str) -> Gate:
        for gate in self.gates:
            if gate.id == gate_id:
                return gate
        if gate_id.startswith(REATTEST_PREFIX):
            stage = next((s for s in self.stages if s.id == gate_id.removeprefix(REATTEST_PREFIX)), None)
            if stage is not None and (reattestation := stage.reattestation()) is not None:
                return reattestation
        raise NotFound(f"There is no gate '{gate_id}'.")

    def reattestations(self) -> tuple[Gate, ...]:
        """Each stage's periodic re-attestation, as the gate its reviews are pinned to."""
        return tuple(gate for stage in self.stages if (gate := stage.reattestation()) is not None)

    def role_name(self, role_id: str) -> str:
        role = self.roles.get(role_id)
        return role.name if role else role_id


def _stage_from_document(spec: dict[str, Any]) -> Stage:
    return Stage(
        id=spec["id"], name=spec.get("name", spec["id"]), stall_after_days=spec.get("stall_after_days"),
        target_days=spec.get("target_days"), reattest_every_days=spec.get("reattest_every_days"),
        reattest_checklist=_checklist(spec.get("reattest_checklist", {})),
        reattest_sla_business_days=spec.get("reattest_sla_business_days", 10),
        reattest_hold_after_days=spec.get("reattest_hold_after_days"),
        max_model_age_days=spec.get("max_model_age_days"),
        model_alias=spec.get("model_alias", DEFAULT_MODEL_ALIAS),
        kpi_stale_days=spec.get("kpi_stale_days", 45), kpi_every_days=spec.get("kpi_every_days", 30),
    )


def _checklist(spec: dict[str, list[dict[str, Any]]]) -> dict[str, tuple[ChecklistItem, ...]]:
    return {
        role: tuple(ChecklistItem(id=item["id"], label=item["label"], check=item.get("check"),
                                  controls=tuple(item.get("controls", ())), answered_by=item.get("answered_by"))
                    for item in items)
        for role, items in spec.items()
    }


def _gate_from_document(spec: dict[str, Any]) -> Gate:
    nudge = spec.get("nudge", {})
    return Gate(
        id=spec["id"],
        name=spec.get("name", spec["id"]),
        from_stage=spec["from"],
        to_stage=spec["to"],
        required_roles={tier: tuple(spec["required_roles"][tier]) for tier in RISK_TIERS},
        checklist=_checklist(spec.get("checklist", {})),
        sla_business_days=spec.get("sla_business_days", 5),
        nudge_first_after=nudge.get("first_after_business_days", 2),
        nudge_every=nudge.get("repeat_every_business_days", 2),
        waiver_days=spec.get("waiver_days", DEFAULT_WAIVER_DAYS),
        condition_days=spec.get("condition_days", 10),
        conditions_block_next_gate=spec.get("conditions_block_next_gate", False),
    )


def default_document() -> dict[str, Any]:
    """The default template, freshly parsed (callers may keep and change it)."""
    with DEFAULT_TEMPLATE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)
