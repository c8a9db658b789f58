"""The gate catalog: a typed, read-only view of one definition version (stages, gates, roles, checklists).

A definition is stored as a plain document (the same shape as the gates-as-code YAML), one immutable row per
version, so that an open review can keep reading the version it started under.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.services.errors import NotFound
from bot.services.validation import RISK_TIERS

DEFAULT_TEMPLATE = Path(__file__).with_name("default_gates.yml")


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    label: str
    # An automatic item: checked by the bot (bot/services/webhooks/automatic_checks.py), e.g. {"mlflow_model": "churn",
    # "alias": "champion"}; its result pre-fills the owner's checklist.
    check: dict[str, Any] | None = None


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    signs_off: bool = True


LIVE_STAGE = "production"  # from this stage on an initiative is live: its KPIs are measured and reported


@dataclass(frozen=True)
class Stage:
    id: str
    name: str
    stall_after_days: int | None = None
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
        stages = tuple(
            Stage(id=s["id"], name=s.get("name", s["id"]), stall_after_days=s.get("stall_after_days"),
                  kpi_stale_days=s.get("kpi_stale_days", 45), kpi_every_days=s.get("kpi_every_days", 30))
            for s in document["stages"]
        )
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
        raise NotFound(f"There is no gate '{gate_id}'.")

    def role_name(self, role_id: str) -> str:
        role = self.roles.get(role_id)
        return role.name if role else role_id


def _gate_from_document(spec: dict[str, Any]) -> Gate:
    nudge = spec.get("nudge", {})
    return Gate(
        id=spec["id"],
        name=spec.get("name", spec["id"]),
        from_stage=spec["from"],
        to_stage=spec["to"],
        required_roles={tier: tuple(spec["required_roles"][tier]) for tier in RISK_TIERS},
        checklist={
            role: tuple(ChecklistItem(id=item["id"], label=item["label"], check=item.get("check")) for item in items)
            for role, items in spec.get("checklist", {}).items()
        },
        sla_business_days=spec.get("sla_business_days", 5),
        nudge_first_after=nudge.get("first_after_business_days", 2),
        nudge_every=nudge.get("repeat_every_business_days", 2),
    )


def default_document() -> dict[str, Any]:
    """The default template, freshly parsed (callers may keep and change it)."""
    with DEFAULT_TEMPLATE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)
