"""The compliance report as Markdown (to read), CSV (one line per initiative and control, to filter) or JSON (to
process). The same cells in each."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from bot.services.regulation.compliance import STATES, Cell, ComplianceReport

FORMATS = ("md", "csv", "json")
DISCLAIMER = ("A screening aid, not legal advice. The control mappings are not reviewed by counsel unless the "
              "catalog says so.")
CSV_COLUMNS = ("initiative", "title", "tier", "risk_tier", "control", "framework", "state", "item", "by", "at",
               "evidence", "reason", "expires_on")


def render(report: ComplianceReport, fmt: str) -> str:
    return {"md": markdown, "csv": as_csv, "json": as_json}[fmt](report)


def as_json(report: ComplianceReport) -> str:
    data: dict[str, Any] = {
        "as_of": report.as_of.isoformat(), "controls_catalog_version": report.catalog_version,
        "reviewed_by_counsel": report.reviewed_by_counsel, "disclaimer": DISCLAIMER,
        "controls": [{"ref": c.ref, "framework": c.framework, "title": c.title, "tiers": list(c.tiers),
                      "applies_from": c.applies_from.isoformat() if c.applies_from else None}
                     for c in report.controls],
        "initiatives": [{"key": row.key, "title": row.title, "tier": row.tier, "risk_tier": row.risk_tier,
                         "cells": {ref: _cell_json(cell) for ref, cell in row.cells.items()}}
                        for row in report.rows],
        "summary": [{"tier": tier, "framework": framework, **{state: counts[state] for state in STATES}}
                    for (tier, framework), counts in sorted(report.summary.items())],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def as_csv(report: ComplianceReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        for control in report.controls:
            cell = row.cells[control.ref]
            writer.writerow((row.key, row.title, row.tier or "", row.risk_tier, control.ref, control.framework,
                             cell.state, cell.item, cell.by, _at(cell), " ".join(cell.evidence), cell.reason,
                             _expires(cell)))
    return out.getvalue()


def markdown(report: ComplianceReport) -> str:
    lines = [f"# Compliance report, {report.as_of.isoformat()}", "",
             f"Controls catalog version {report.catalog_version}"
             + ("" if report.reviewed_by_counsel else " (**not reviewed by counsel**)") + f". {DISCLAIMER}", "",
             "## Portfolio summary by tier and framework", "",
             "| tier | framework | " + " | ".join(STATES) + " |", "|---|---|" + "---|" * len(STATES)]
    lines += [f"| {tier} | {framework} | " + " | ".join(str(counts[s]) for s in STATES) + " |"
              for (tier, framework), counts in sorted(report.summary.items())]
    for row in report.rows:
        lines += ["", f"## {row.key} {row.title}", "",
                  f"Tier: {row.tier or 'not classified'}; risk tier: {row.risk_tier}.", ""]
        shown = [(c, row.cells[c.ref]) for c in report.controls if row.cells[c.ref].state not in
                 ("not applicable", "unclassified")]
        if not shown:
            lines.append("No control applies" + (" until it is classified." if row.tier is None else "."))
            continue
        lines += ["| control | state | detail |", "|---|---|---|"]
        lines += [f"| {c.ref} {_md(c.title)} | {cell.state} | {_md(_detail(cell))} |" for c, cell in shown]
    return "\n".join(lines) + "\n"


def _detail(cell: Cell) -> str:
    parts = [cell.item, f"by {cell.by}" if cell.by else "", _at(cell), cell.reason and f"reason: {cell.reason}",
             cell.expires_on and f"expires {_expires(cell)}", " ".join(cell.evidence)]
    return ", ".join(part for part in parts if part)


def _cell_json(cell: Cell) -> dict[str, Any]:
    return {"state": cell.state, "item": cell.item or None, "by": cell.by or None, "at": _at(cell) or None,
            "evidence": list(cell.evidence), "reason": cell.reason or None, "expires_on": _expires(cell) or None}


def _expires(cell: Cell) -> str:
    return cell.expires_on.isoformat() if cell.expires_on else ""


def _at(cell: Cell) -> str:
    return cell.at.isoformat(timespec="seconds").replace("+00:00", "Z") if cell.at else ""


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
