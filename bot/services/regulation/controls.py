"""The controls catalog: the `FRAMEWORK:REFERENCE` identifiers that checklist items may name (`controls:` in the
gate YAML), each with a title in our own words, a source to cite, the derived tiers it applies to and the date
from which it does. Admin-owned data with a JSON Schema, like the questionnaire; the shipped one is labelled not
reviewed by counsel."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from bot.services.gates.service import CONTROL_REFERENCE, Path_, Problem, parse_yaml_document, schema_problems

SCHEMA_FILE = Path(__file__).with_name("controls_schema.json")
SHIPPED_FILE = Path(__file__).with_name("controls.yml")
REGULATED_GATES = Path(__file__).with_name("gates-regulated.yaml")
EXPORT_COMMAND = "initiative-bot controls export"


@dataclass(frozen=True)
class Control:
    ref: str
    title: str
    tiers: tuple[str, ...]
    applies_from: date | None

    @property
    def framework(self) -> str:
        return self.ref.partition(":")[0]

    def applies_to(self, tier: str | None, *, on: date) -> bool:
        """Whether it applies to an initiative classified `tier`, on a given day."""
        return tier in self.tiers and (self.applies_from is None or self.applies_from <= on)


@dataclass(frozen=True)
class ControlsCatalog:
    version: int
    reviewed_by_counsel: bool
    frameworks: Mapping[str, tuple[str, str]]  # id -> (name, source)
    controls: tuple[Control, ...]

    @classmethod
    def from_document(cls, document: Mapping[str, Any], *, version: int) -> ControlsCatalog:
        return cls(version=version, reviewed_by_counsel=document["reviewed_by_counsel"],
                   frameworks={f["id"]: (f["name"], f["source"]) for f in document["frameworks"]},
                   controls=tuple(Control(c["ref"], c["title"], tuple(c["tiers"]),
                                          date.fromisoformat(c["applies_from"]) if "applies_from" in c else None)
                                  for c in document["controls"]))

    def get(self, ref: str) -> Control | None:
        return next((control for control in self.controls if control.ref == ref), None)

    def refs(self) -> set[str]:
        return {control.ref for control in self.controls}


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def shipped_document() -> dict[str, Any]:
    return parse_controls_yaml(SHIPPED_FILE.read_text(encoding="utf-8"), filename=SHIPPED_FILE.name)


def parse_controls_yaml(text: str, *, filename: str) -> dict[str, Any]:
    """The catalog in `text`, checked completely; raises InvalidGatesFile naming every problem's line."""
    return parse_yaml_document(text, filename=filename, problems_in=problems_in, export_hint=EXPORT_COMMAND)


def problems_in(document: Any) -> list[Problem]:
    found = list(schema_problems(document, schema()))
    return found or list(_semantic_problems(document))


def _semantic_problems(document: dict[str, Any]) -> Iterator[Problem]:
    frameworks = [f["id"] for f in document["frameworks"]]
    seen: set[str] = set()
    for index, control in enumerate(document["controls"]):
        ref, path = control["ref"], ("controls", index, "ref")
        if not CONTROL_REFERENCE.fullmatch(ref):
            yield Problem(path, f"'{ref}' is not a control reference; write FRAMEWORK:REFERENCE, like "
                                "'EU-AI-ACT:Art.9'")
        elif ref.partition(":")[0] not in frameworks:
            yield Problem(path, f"'{ref}' names framework '{ref.partition(':')[0]}', which is not under "
                                f"frameworks ({', '.join(frameworks)})")
        if ref in seen:
            yield Problem(path, f"control '{ref}' is listed twice; keep one")
        seen.add(ref)
        if "applies_from" in control:
            try:
                date.fromisoformat(control["applies_from"])
            except ValueError:
                yield Problem(("controls", index, "applies_from"), f"'{control['applies_from']}' is not a real date")


def unknown_controls(gates_document: Mapping[str, Any], catalog: ControlsCatalog) -> list[Problem]:
    """The checklist items of a gate definition document that name a control the catalog does not have."""
    known = catalog.refs()
    problems = []
    for g, gate in enumerate(gates_document.get("gates", ())):
        for role, items in gate.get("checklist", {}).items():
            for i, item in enumerate(items):
                for c, ref in enumerate(item.get("controls", ())):
                    if ref not in known:
                        path: Path_ = ("gates", g, "checklist", role, i, "controls", c)
                        problems.append(Problem(path, f"checklist item '{item['id']}' names control '{ref}', which "
                                                      "is not in the controls catalog (`initiative-bot controls "
                                                      "export` lists them)"))
    return problems
