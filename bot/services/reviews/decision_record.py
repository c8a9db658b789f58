"""The decision record of one initiative: every gate it went through, who signed what and on what evidence.

`load_snapshot` reads; `build_decision_record` is a pure function of that snapshot, so the CLI (Markdown, JSON)
and Slack (a private view) show the same content.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.services.access.service import Audience
from bot.services.audit.service import ChainReport, Directory, load_directory, verify_chain
from bot.services.gates.service import ChecklistItem, GateCatalog, catalog_for
from bot.services.initiatives.service import get_initiative
from bot.services.tracked_items import service as tracked_items
from storage.models import (
    GateReview,
    Initiative,
    InitiativeClassification,
    InitiativeOutcome,
    SignOff,
    StageTransition,
    TrackedItem,
)

OUTCOMES = {"passed": "passed", "changes_requested": "failed (changes requested)", "cancelled": "cancelled",
            "open": "in review"}


@dataclass(frozen=True)
class Snapshot:
    initiative: Initiative
    reviews: list[tuple[GateReview, list[SignOff]]]
    transitions: list[StageTransition]
    outcomes: list[InitiativeOutcome]
    catalogs: dict[int, GateCatalog]  # by definition version: each review's pinned one, and the newest
    current_version: int
    directory: Directory
    chain: ChainReport
    classifications: list[InitiativeClassification]
    items: list[TrackedItem] = field(default_factory=list)  # conditions and expired waivers, oldest first


@dataclass(frozen=True)
class ChecklistLine:
    item: str
    label: str
    status: str  # ticked | waived | waived with the sign-off | not decided
    reason: str | None = None


@dataclass(frozen=True)
class Signature:
    role: str
    role_name: str
    assignee: str
    assignee_name: str
    decision: str  # approved | changes_requested | waived | cancelled | pending
    decided_by: str | None
    decided_by_name: str | None
    decided_at: str | None
    comment: str | None
    checklist: list[ChecklistLine]
    evidence_links: list[str]


@dataclass(frozen=True)
class GateRecord:
    gate: str
    gate_name: str
    from_stage: str
    to_stage: str
    outcome: str
    definition_version: int
    opened_by: str
    opened_by_name: str
    opened_at: str
    closed_at: str | None
    close_reason: str | None
    signatures: list[Signature]


@dataclass(frozen=True)
class StageChange:
    at: str
    from_stage: str | None
    to_stage: str
    actor: str
    actor_name: str
    reason: str


@dataclass(frozen=True)
class OutcomeRecord:
    """A hold, recycle or kill: who decided, why, and (a kill) what was learned."""

    kind: str  # hold | recycle | kill
    decided_at: str
    decided_by: str
    decided_by_name: str
    stage: str
    to_stage: str | None
    reason: str
    lessons: str
    revisit_on: str | None
    ended_at: str | None


@dataclass(frozen=True)
class ClassificationRecord:
    """A questionnaire's result (with the answers behind it) or a compliance owner's override of its risk tier."""

    kind: str  # questionnaire | override
    decided_at: str
    decided_by: str
    decided_by_name: str
    derived_tier: str
    risk_tier: str | None  # the risk tier it set; None: left as it was
    questionnaire_version: int
    rationale: list[str]
    reason: str


@dataclass(frozen=True)
class ConditionRecord:
    """A condition of a Conditional Go (or an expired waiver): whose, by when, and how it ended."""

    id: str  # AI-7-C1
    gate: str
    text: str
    owner: str
    owner_name: str
    due_on: str
    state: str  # open | met | cancelled
    closed_by: str | None
    closed_by_name: str | None
    closed_at: str | None
    evidence: str
    evidence_links: list[str]
    reason: str  # why it was cancelled


@dataclass(frozen=True)
class DecisionRecord:
    key: str
    title: str
    risk_tier: str
    status: str
    current_stage: str
    current_definition_version: int
    gates: list[GateRecord]
    stage_history: list[StageChange]
    chain_verifies: bool
    chain_summary: str
    outcomes: list[OutcomeRecord]
    classifications: list[ClassificationRecord]
    conditions: list[ConditionRecord] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def load_snapshot(session: Session, *, audience: Audience, key: str) -> Snapshot:
    """Everything the record shows, read in one transaction, of an initiative the audience may see. Verifies the
    workspace's whole chain."""
    team_id = audience.team_id
    initiative = get_initiative(session, audience=audience, key=key)
    reviews = list(session.exec(select(GateReview).where(GateReview.initiative_id == initiative.id)
                                .order_by(col(GateReview.opened_at), col(GateReview.id))))
    sign_offs: dict[int, list[SignOff]] = {review.id: [] for review in reviews}  # type: ignore[misc]
    for sign_off in session.exec(select(SignOff).where(col(SignOff.review_id).in_(list(sign_offs)))
                                 .order_by(col(SignOff.id))):
        sign_offs[sign_off.review_id].append(sign_off)
    current = catalog_for(session, team_id=team_id)
    catalogs = {current.version: current}
    for version in {review.definition_version for review in reviews} - catalogs.keys():
        catalogs[version] = catalog_for(session, team_id=team_id, version=version)
    transitions = list(session.exec(select(StageTransition).where(StageTransition.initiative_id == initiative.id)
                                    .order_by(col(StageTransition.at))))
    # Read here rather than through bot.services.outcomes, which sits above reviews.
    outcomes = list(session.exec(select(InitiativeOutcome).where(InitiativeOutcome.initiative_id == initiative.id)
                                 .order_by(col(InitiativeOutcome.decided_at), col(InitiativeOutcome.id))))
    classifications = list(session.exec(  # like the outcomes: bot.services.regulation sits above reviews
        select(InitiativeClassification).where(InitiativeClassification.initiative_id == initiative.id)
        .order_by(col(InitiativeClassification.decided_at), col(InitiativeClassification.id))))
    items = sorted(tracked_items.items_of(session, initiative_id=initiative.id), key=lambda item: item.id or 0)
    connection = session.connection()
    return Snapshot(initiative=initiative, reviews=[(r, sign_offs[r.id]) for r in reviews],  # type: ignore[index]
                    transitions=transitions, outcomes=outcomes, classifications=classifications, catalogs=catalogs,
                    current_version=current.version,
                    directory=load_directory(connection, team_id=team_id),
                    chain=verify_chain(connection, team_id=team_id), items=items)


def build_decision_record(snapshot: Snapshot) -> DecisionRecord:
    initiative, names = snapshot.initiative, snapshot.directory
    current = snapshot.catalogs[snapshot.current_version]
    return DecisionRecord(
        key=initiative.key,
        title=initiative.title,
        risk_tier=initiative.risk_tier,
        status=initiative.status,
        current_stage=_stage_name(current, initiative.stage),
        current_definition_version=snapshot.current_version,
        gates=[_gate_record(review, sign_offs, snapshot.catalogs[review.definition_version], names,
                            conditional=any(item.review_id == review.id for item in snapshot.items))
               for review, sign_offs in snapshot.reviews],
        stage_history=[StageChange(at=_iso(t.at), from_stage=t.from_stage, to_stage=t.to_stage, actor=t.actor,
                                   actor_name=names.name(t.actor, t.at), reason=t.reason)
                       for t in snapshot.transitions],
        chain_verifies=snapshot.chain.ok,
        chain_summary=snapshot.chain.describe(),
        outcomes=[OutcomeRecord(kind=o.kind, decided_at=_iso(o.decided_at), decided_by=o.decided_by,
                                decided_by_name=names.name(o.decided_by, o.decided_at),
                                stage=_stage_name(current, o.stage),
                                to_stage=_stage_name(current, o.to_stage) if o.to_stage else None,
                                reason=o.reason, lessons=o.lessons,
                                revisit_on=o.revisit_on.isoformat() if o.revisit_on else None,
                                ended_at=_iso(o.ended_at) if o.ended_at else None)
                  for o in snapshot.outcomes],
        classifications=[ClassificationRecord(
            kind=c.kind, decided_at=_iso(c.decided_at), decided_by=c.decided_by,
            decided_by_name=names.name(c.decided_by, c.decided_at), derived_tier=c.derived_tier,
            risk_tier=c.risk_tier, questionnaire_version=c.questionnaire_version,
            rationale=[_rationale_line(line) for line in c.rationale], reason=c.reason)
            for c in snapshot.classifications],
        conditions=[_condition_record(initiative, item, current, names) for item in snapshot.items],
    )


def _rationale_line(line: dict[str, str]) -> str:
    """A stored rationale entry: the rule (first), or an answer, each with the article it cites."""
    if "question" in line:
        return f"{line['text']} {line['answer']} ({line['cites']})"
    return f"rule {line['rule']} ({line['cites']})" if line.get("rule") else line.get("note", "")


def _condition_record(initiative: Initiative, item: TrackedItem, catalog: GateCatalog,
                      names: Directory) -> ConditionRecord:
    gate = next((gate.name for gate in catalog.gates if gate.id == item.gate_slug), item.gate_slug)
    return ConditionRecord(
        id=tracked_items.key_of(initiative, item), gate=gate, text=item.text, owner=item.owner,
        owner_name=names.name(item.owner, item.created_at), due_on=item.due_on.isoformat(), state=item.state,
        closed_by=item.closed_by,
        closed_by_name=names.name(item.closed_by, item.closed_at) if item.closed_by and item.closed_at else None,
        closed_at=_iso(item.closed_at) if item.closed_at else None, evidence=item.evidence,
        evidence_links=list(item.evidence_links), reason=item.close_reason)


def _gate_record(review: GateReview, sign_offs: list[SignOff], catalog: GateCatalog, names: Directory, *,
                 conditional: bool = False) -> GateRecord:
    gate = catalog.gate(review.gate_slug)
    outcome = OUTCOMES.get(review.state, review.state)
    return GateRecord(
        gate=gate.id, gate_name=gate.name, from_stage=_stage_name(catalog, review.from_stage),
        to_stage=_stage_name(catalog, review.to_stage),
        outcome=f"{outcome} with conditions (Conditional Go)" if conditional and review.state == "passed" else outcome,
        definition_version=review.definition_version, opened_by=review.opened_by,
        opened_by_name=names.name(review.opened_by, review.opened_at), opened_at=_iso(review.opened_at),
        closed_at=_iso(review.closed_at) if review.closed_at else None, close_reason=review.close_reason,
        signatures=[_signature(s, catalog, gate.checklist_for(s.role), names) for s in sign_offs],
    )


def _signature(sign_off: SignOff, catalog: GateCatalog, items: tuple[ChecklistItem, ...],
               names: Directory) -> Signature:
    when = sign_off.decided_at or sign_off.requested_at
    return Signature(
        role=sign_off.role, role_name=catalog.role_name(sign_off.role), assignee=sign_off.assignee,
        assignee_name=names.name(sign_off.assignee, when), decision=sign_off.state,
        decided_by=sign_off.decided_by,
        decided_by_name=names.name(sign_off.decided_by, when) if sign_off.decided_by else None,
        decided_at=_iso(sign_off.decided_at) if sign_off.decided_by and sign_off.decided_at else None,
        comment=sign_off.comment,
        checklist=[_checklist_line(item.id, item.label, sign_off) for item in items],
        evidence_links=list(sign_off.evidence_links),
    )


def _checklist_line(item_id: str, label: str, sign_off: SignOff) -> ChecklistLine:
    if item_id in sign_off.ticked:
        return ChecklistLine(item_id, label, "ticked")
    if item_id in sign_off.waivers:
        return ChecklistLine(item_id, label, "waived", sign_off.waivers[item_id])
    if sign_off.state == "waived":
        return ChecklistLine(item_id, label, "waived with the sign-off", sign_off.comment)
    return ChecklistLine(item_id, label, "not decided")


def _stage_name(catalog: GateCatalog, stage_id: str) -> str:
    return next((stage.name for stage in catalog.stages if stage.id == stage_id), stage_id)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def render_markdown(record: DecisionRecord) -> str:
    lines = [
        f"# Decision record: {record.key} {record.title}",
        "",
        f"- Current stage: **{record.current_stage}** ({record.status}); risk tier: {record.risk_tier}",
        f"- Gate definitions in force: version {record.current_definition_version}",
        f"- Integrity: {record.chain_summary}",
        "",
    ]
    if not record.gates:
        lines += ["No gate review yet.", ""]
    for gate in record.gates:
        lines += [
            f"## {gate.gate_name}: {gate.from_stage} → {gate.to_stage}: {gate.outcome}",
            "",
            f"Gate definitions version {gate.definition_version}. Opened by {_who(gate.opened_by, gate.opened_by_name)}"
            f" on {gate.opened_at}" + (f"; closed {gate.closed_at} ({gate.close_reason})." if gate.closed_at else "."),
            "",
        ]
        for signature in gate.signatures:
            lines += _signature_lines(signature)
    if record.classifications:
        lines += ["## Risk classification", "", "A screening aid, not legal advice.", ""]
        lines += [line for c in record.classifications for line in classification_lines(c)]
    if record.outcomes:
        lines += ["## Hold, recycle and kill decisions", ""]
        lines += [outcome_line(outcome) for outcome in record.outcomes] + [""]
    if record.conditions:
        lines += ["## Conditions", ""]
        lines += [condition_record_line(condition) for condition in record.conditions] + [""]
    lines += ["## Stage history", ""]
    for change in record.stage_history:
        lines.append(f"- {change.at}: {change.from_stage or '(new)'} → {change.to_stage}, by "
                     f"{_who(change.actor, change.actor_name)}: {change.reason}")
    return "\n".join(lines) + "\n"


def classification_lines(record: ClassificationRecord) -> list[str]:
    who = f"{record.decided_at}, by {_who(record.decided_by, record.decided_by_name)}"
    if record.kind == "override":
        return [f"- {who}: risk tier overridden to {record.risk_tier} (classified {record.derived_tier}), signed "
                f"off by the compliance owner: {record.reason}", ""]
    effect = f"risk tier set to {record.risk_tier}" if record.risk_tier else "risk tier left as it was"
    return [f"- {who}: classified **{record.derived_tier}** with questionnaire version "
            f"{record.questionnaire_version}; {effect}. Why:",
            *(f"  - {line}" for line in record.rationale), ""]


def outcome_line(outcome: OutcomeRecord) -> str:
    """One decision as a Markdown list item (the CLI's record and the Slack modal show the same line)."""
    who = f"{outcome.decided_at}, by {_who(outcome.decided_by, outcome.decided_by_name)}"
    if outcome.kind == "hold":
        ended = f"; ended {outcome.ended_at}" if outcome.ended_at else ""
        return f"- {who}: held in {outcome.stage} until {outcome.revisit_on}{ended}: {outcome.reason}"
    if outcome.kind == "recycle":
        return f"- {who}: recycled from {outcome.stage} to {outcome.to_stage}; to redo: {outcome.reason}"
    learned = f" What we learned: {outcome.lessons}" if outcome.lessons else ""
    return f"- {who}: killed in {outcome.stage}: {outcome.reason}.{learned}"


def condition_record_line(condition: ConditionRecord) -> str:
    """One condition as a Markdown list item (the CLI's record and the Slack modal show the same line)."""
    head = (f"- {condition.id} ({condition.gate}): {condition.text}, owned by "
            f"{_who(condition.owner, condition.owner_name)}, due {condition.due_on}")
    closed = f"{_who(condition.closed_by, condition.closed_by_name)} on {condition.closed_at}"
    if condition.state == "met":
        links = "".join(f" {link}" for link in condition.evidence_links if link not in condition.evidence)
        return f"{head}: met, by {closed}. Evidence: {condition.evidence}{links}"
    if condition.state == "cancelled":
        return f"{head}: cancelled, by {closed}: {condition.reason}"
    return f"{head}: open"


def _signature_lines(signature: Signature) -> list[str]:
    decided = (f"{signature.decision} by {_who(signature.decided_by, signature.decided_by_name)} "
               f"on {signature.decided_at}") if signature.decided_by else signature.decision
    lines = [f"### {signature.role_name}: {decided}", "",
             f"Assigned to {_who(signature.assignee, signature.assignee_name)}."]
    if signature.comment:
        lines.append(f"Comment: {signature.comment}")
    lines.append("")
    for line in signature.checklist:
        mark = {"ticked": "[x]", "not decided": "[ ]"}.get(line.status, "[~]")
        reason = f": {line.reason}" if line.reason else ""
        lines.append(f"- {mark} {line.label} ({line.status}{reason})")
    for link in signature.evidence_links:
        lines.append(f"- Evidence: {link}")
    return [*lines, ""]


def _who(user_id: str | None, name: str | None) -> str:
    if not user_id:
        return "nobody"
    return user_id if not name or name == user_id else f"{name} ({user_id})"
