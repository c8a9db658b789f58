"""The compliance report: initiatives by the controls that apply to them, each cell met, waived, open or not
applicable, with a portfolio summary by tier and framework.

- A control applies to an initiative when the catalog lists the initiative's derived tier (its classification)
  and the control's `applies_from` date has come. An initiative not classified yet has no applicable controls:
  its cells say so ("unclassified").
- A cell is **met** when an approved sign-off ticked a checklist item that names the control (which item, by
  whom, when, with the sign-off's evidence links); **waived** when such an item was waived instead (the reason,
  and the date the waiver expires); otherwise **open**, which a waiver past its expiry is too. Sign-offs count
  in reviews that passed or are open; a review cancelled or sent back does not evidence anything. The items
  are read from the gate definition version each review was pinned to.
- The figures come from the sign-offs' checklist answers, which the audit trail records with every decision
  (`signoff.approved`, `signoff.waived` with their ticks and waivers), so they agree with `audit export`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from bot.services.access.service import Audience, visible_to
from bot.services.gates.service import ChecklistItem, catalog_for
from bot.services.regulation.controls import Control, ControlsCatalog
from storage.models import ChecklistWaiver, GateReview, Initiative, SignOff

MET, WAIVED, OPEN, NOT_APPLICABLE, UNCLASSIFIED = "met", "waived", "open", "not applicable", "unclassified"
STATES = (MET, WAIVED, OPEN, NOT_APPLICABLE, UNCLASSIFIED)
EVIDENCING_REVIEWS = ("passed", "open")


@dataclass(frozen=True)
class Cell:
    state: str
    item: str = ""  # "gate/item" that evidences it
    by: str = ""
    at: datetime | None = None
    evidence: tuple[str, ...] = ()
    reason: str = ""  # a waiver's reason; why not applicable
    expires_on: date | None = None  # a waiver's expiry (bot/services/waivers)


@dataclass(frozen=True)
class Row:
    key: str
    title: str
    tier: str | None  # the derived tier; None: not classified
    risk_tier: str
    cells: dict[str, Cell]  # control ref -> cell


@dataclass(frozen=True)
class ComplianceReport:
    as_of: date
    catalog_version: int
    reviewed_by_counsel: bool
    controls: tuple[Control, ...]
    rows: tuple[Row, ...]
    summary: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)  # (tier, framework) -> states


def build_report(session: Session, *, catalog: ControlsCatalog, initiatives: Iterable[Initiative], today: date,
                 framework: str | None = None) -> ComplianceReport:
    controls = tuple(c for c in catalog.controls if framework is None or c.framework == framework)
    rows = tuple(_row(session, initiative, controls, today) for initiative in initiatives)
    summary: dict[tuple[str, str], Counter[str]] = {}
    for row in rows:
        for control in controls:
            key = (row.tier or UNCLASSIFIED, control.framework)
            summary.setdefault(key, Counter())[row.cells[control.ref].state] += 1
    return ComplianceReport(as_of=today, catalog_version=catalog.version,
                            reviewed_by_counsel=catalog.reviewed_by_counsel, controls=controls, rows=rows,
                            summary=summary)


def initiatives_for_report(session: Session, *, audience: Audience, tier: str | None = None) -> list[Initiative]:
    """Every initiative the audience may see that is not retired or killed, optionally of one derived tier
    (`unclassified` for those not classified yet), in key order."""
    query = select(Initiative).where(visible_to(audience), col(Initiative.status).not_in(("retired", "killed")))
    if tier == UNCLASSIFIED:
        query = query.where(col(Initiative.classified_tier).is_(None))
    elif tier:
        query = query.where(Initiative.classified_tier == tier)
    return list(session.exec(query.order_by(col(Initiative.number))))


def _row(session: Session, initiative: Initiative, controls: tuple[Control, ...], today: date) -> Row:
    answers = _answers(session, initiative)
    expiries = {(sign_off_id, item_id): expires_on for sign_off_id, item_id, expires_on in session.exec(
        select(ChecklistWaiver.sign_off_id, ChecklistWaiver.item_id, ChecklistWaiver.expires_on)
        .where(ChecklistWaiver.initiative_id == initiative.id))}
    cells = {}
    for control in controls:
        if initiative.classified_tier is None:
            cells[control.ref] = Cell(UNCLASSIFIED, reason="classify it first")
        elif not control.applies_to(initiative.classified_tier, on=today):
            cells[control.ref] = Cell(NOT_APPLICABLE, reason=_why_not(control, initiative.classified_tier))
        else:
            cells[control.ref] = _cell(control.ref, answers, expiries, today)
    return Row(initiative.key, initiative.title, initiative.classified_tier, initiative.risk_tier, cells)


def _answers(session: Session, initiative: Initiative) -> list[tuple[str, ChecklistItem, SignOff]]:
    """Each decided sign-off of an evidencing review, with the checklist items it answered: (gate, item, sign-off)."""
    found = []
    rows = session.exec(select(GateReview, SignOff).join(SignOff, col(SignOff.review_id) == GateReview.id)
                        .where(GateReview.initiative_id == initiative.id,
                               col(GateReview.state).in_(EVIDENCING_REVIEWS),
                               col(SignOff.state).in_(("approved", "waived")))
                        .order_by(col(SignOff.decided_at), col(SignOff.id)))
    for review, sign_off in rows:
        gate = catalog_for(session, team_id=initiative.team_id, version=review.definition_version).gate(
            review.gate_slug)
        found += [(gate.id, item, sign_off) for item in gate.checklist_for(sign_off.role) if item.controls]
    return found


def _cell(ref: str, answers: list[tuple[str, ChecklistItem, SignOff]], expiries: dict[tuple[int, str], date],
          today: date) -> Cell:
    waived: Cell | None = None
    met: Cell | None = None
    for gate_id, item, sign_off in answers:
        if ref not in item.controls:
            continue
        where = f"{gate_id}/{item.id}"
        if sign_off.state == "approved" and item.id in sign_off.ticked:
            met = Cell(MET, where, sign_off.decided_by or "", sign_off.decided_at, tuple(sign_off.evidence_links))
        elif item.id in sign_off.waivers or sign_off.state == "waived":
            reason = sign_off.waivers.get(item.id) or sign_off.comment
            expires_on = expiries.get((sign_off.id, item.id))  # type: ignore[arg-type]
            if expires_on is None or expires_on > today:
                waived = waived or Cell(WAIVED, where, sign_off.decided_by or "", sign_off.decided_at,
                                        tuple(sign_off.evidence_links), reason, expires_on)
    return met or waived or Cell(OPEN)


def _why_not(control: Control, tier: str) -> str:
    if tier not in control.tiers:
        return f"for {', '.join(control.tiers)} only"
    return f"applies from {control.applies_from.isoformat()}" if control.applies_from else ""
