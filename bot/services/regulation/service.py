"""Classifying initiatives with the workspace's questionnaire, overriding the tier it set, and editing the
questionnaire (a new immutable version each time, like the gate definitions).

- A workspace's first need of the questionnaire stores the shipped one as version 1.
- `classify` stores the result (derived tier, the rationale citing the articles, the questionnaire version, who
  answered and when), audits it (`initiative.classified`) and sets the risk tier the questionnaire maps the
  result to, which decides the sign-offs of the next review (an open review keeps its roles). A prohibited result
  blocks every gate: the open review is cancelled and no review can be submitted while it stands; the admins are
  told (`ClassificationDecided`). "Needs review" leaves the risk tier as it is.
- `override_risk_tier` changes that tier with a reason, only by the initiative's compliance owner (their act is
  the sign-off), audited (`initiative.risk_tier_overridden`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from bot.services.access.service import Actor, require_admin
from bot.services.audit.service import record_audit
from bot.services.errors import Conflict, InvalidInput, PermissionDenied
from bot.services.events import ClassificationDecided, emit
from bot.services.gates.service import Change, Problem, differences
from bot.services.initiatives.service import owners_of, require_manager
from bot.services.regulation import controls
from bot.services.regulation.compliance import (
    MET,
    NOT_APPLICABLE,
    OPEN,
    WAIVED,
    Cell,
    ComplianceReport,
    build_report,
    initiatives_for_report,
)
from bot.services.regulation.controls import parse_controls_yaml, unknown_controls
from bot.services.regulation.questionnaire import (
    BLOCK,
    NEEDS_REVIEW,
    Questionnaire,
    Result,
    parse_questionnaire_yaml,
    problems_in,
    shipped_document,
)
from bot.services.regulation.report_formats import render
from bot.services.reviews.service import cancel_open_review
from bot.services.validation import RISK_TIERS, check_risk_tier, clean_reason, clean_strings
from bot.services.versioning import insert_next_version
from storage.models import Initiative, InitiativeClassification, RegulationDocument
from storage.types import utcnow

# The domain's public face: what the rest of the bot may call (its other modules are internals).
__all__ = [
    "COMPLIANCE_ROLE", "CONTROLS", "ENDED", "KINDS", "MET", "NEEDS_REVIEW", "NOT_APPLICABLE", "OPEN", "QUESTIONNAIRE",
    "SYSTEM_ACTOR", "WAIVED", "Cell", "ComplianceReport", "FileKind", "InvalidRegulationFile", "Questionnaire",
    "UnansweredQuestions", "build_report", "check_may_classify", "classify", "controls_for", "document_row",
    "initiatives_for_report", "override_risk_tier", "parse_controls_yaml", "parse_questionnaire_yaml",
    "questionnaire_for", "questionnaire_row", "render", "save_document", "save_questionnaire",
    "standing_classification", "unclassified", "unknown_controls"
]

QUESTIONNAIRE, CONTROLS = "questionnaire", "controls"
SYSTEM_ACTOR = "system"
COMPLIANCE_ROLE = "compliance"
ENDED = ("retired", "killed")


class InvalidRegulationFile(InvalidInput):
    """An edited questionnaire or controls catalog breaks a rule; `problems` holds every one (with its path)."""

    def __init__(self, what: str, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"That {what} cannot be saved: {problems[0].message}.")


class UnansweredQuestions(InvalidInput):
    """Some questions have no answer, or an answer the questionnaire does not offer; `problems` by question."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__(f"Answer every question: {len(problems)} still need an answer.")


# --- the admin-owned files' versions ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FileKind:
    """An admin-owned regulation file: how the shipped one is read and how a new version is checked."""

    kind: str  # regulation_document.kind
    what: str  # in messages: "questionnaire", "controls catalog"
    shipped: Callable[[], dict[str, Any]]
    problems_in: Callable[[Any], list[Problem]]
    export_command: str


KINDS = {
    QUESTIONNAIRE: FileKind(QUESTIONNAIRE, "questionnaire", shipped_document, problems_in,
                            "initiative-bot questionnaire export"),
    CONTROLS: FileKind(CONTROLS, "controls catalog", controls.shipped_document, controls.problems_in,
                       "initiative-bot controls export"),
}


def document_row(session: Session, *, team_id: str, kind: str, version: int | None = None) -> RegulationDocument:
    """A given version of a workspace's file, or the newest one; the shipped file becomes version 1 on first need."""
    query = select(RegulationDocument).where(RegulationDocument.team_id == team_id, RegulationDocument.kind == kind)
    if version is not None:
        row = session.exec(query.where(RegulationDocument.version == version)).first()
        if row is None:
            raise InvalidInput(f"The {KINDS[kind].what} has no version {version}.")
        return row
    row = session.exec(query.order_by(col(RegulationDocument.version).desc()).limit(1)).first()
    return row if row is not None else _store_shipped(session, team_id=team_id, kind=KINDS[kind])


def questionnaire_row(session: Session, *, team_id: str, version: int | None = None) -> RegulationDocument:
    return document_row(session, team_id=team_id, kind=QUESTIONNAIRE, version=version)


def questionnaire_for(session: Session, *, team_id: str, version: int | None = None) -> Questionnaire:
    row = questionnaire_row(session, team_id=team_id, version=version)
    return Questionnaire.from_document(row.document, version=row.version)


def controls_for(session: Session, *, team_id: str, version: int | None = None) -> controls.ControlsCatalog:
    row = document_row(session, team_id=team_id, kind=CONTROLS, version=version)
    return controls.ControlsCatalog.from_document(row.document, version=row.version)


def save_document(session: Session, *, actor: Actor, kind: str, document: dict[str, Any], based_on: int,
                  comment: str = "") -> tuple[int, list[Change]] | None:
    """Store `document` as the next version of the file (admins only), or return None when it equals the newest."""
    spec = KINDS[kind]
    require_admin(actor, doing=f"change the {spec.what}")
    document = clean_strings(document)
    problems = spec.problems_in(document)
    if problems:
        raise InvalidRegulationFile(spec.what, problems)
    latest = document_row(session, team_id=actor.team_id, kind=kind)
    if latest.version != based_on:
        raise _stale(spec, based_on, latest.version)
    changes = differences(latest.document, document)
    if not changes:
        return None
    version = latest.version + 1
    insert_next_version(session, RegulationDocument(team_id=actor.team_id, kind=kind, version=version,
                                                    document=document, created_by=actor.user_id,
                                                    comment=comment[:500]),
                        stale=lambda: _stale(spec, based_on, version))
    record_audit(session, team_id=actor.team_id, actor=actor.user_id, action=f"{kind}.changed", subject_type=kind,
                 subject_key=f"v{version}", before={"version": latest.version, **{c.path: c.before for c in changes}},
                 after={"version": version, **{c.path: c.after for c in changes}, "comment": comment})
    return version, changes


def save_questionnaire(session: Session, *, actor: Actor, document: dict[str, Any], based_on: int,
                       comment: str = "") -> tuple[int, list[Change]] | None:
    return save_document(session, actor=actor, kind=QUESTIONNAIRE, document=document, based_on=based_on,
                         comment=comment)


def _store_shipped(session: Session, *, team_id: str, kind: FileKind) -> RegulationDocument:
    row = RegulationDocument(team_id=team_id, kind=kind.kind, version=1, document=kind.shipped(),
                             created_by=SYSTEM_ACTOR, comment=f"shipped {kind.what}")
    try:
        with session.begin_nested():  # another replica may store it first: carry on with its row
            session.add(row)
            session.flush()
            record_audit(session, team_id=team_id, actor=SYSTEM_ACTOR, action=f"{kind.kind}.initialised",
                         subject_type=kind.kind, subject_key="v1", after={"version": 1, "template": "shipped"})
    except IntegrityError:
        return document_row(session, team_id=team_id, kind=kind.kind, version=1)
    return row


def _stale(spec: FileKind, based_on: int, newest: int) -> Conflict:
    return Conflict(f"Someone else changed the {spec.what} (now version {newest}) since you opened version "
                    f"{based_on}; export it again (`{spec.export_command}`) and make your change there.")


# --- classifying -----------------------------------------------------------------------------------------------

def check_may_classify(session: Session, *, actor: Actor, initiative: Initiative) -> None:
    """Refuse before the modal opens what its submission would refuse anyway."""
    require_manager(session, actor=actor, initiative=initiative, doing="classify it")
    if initiative.status in ENDED:
        raise Conflict(f"{initiative.key} is {initiative.status}; it is no longer classified.")


def classify(session: Session, *, actor: Actor, initiative: Initiative, answers: Mapping[str, str],
             version: int) -> InitiativeClassification:
    """Classify with questionnaire `version` (the one the person answered) and apply its result."""
    check_may_classify(session, actor=actor, initiative=initiative)
    questionnaire = questionnaire_for(session, team_id=initiative.team_id, version=version)
    answers = {q: a for q, a in answers.items() if a}
    problems = questionnaire.check_answers(answers) | {
        q.id: "answer this question" for q in questionnaire.unanswered(answers)}
    if problems:
        raise UnansweredQuestions(problems)
    result = questionnaire.classify(answers)
    effect = questionnaire.effect_of(result.tier)
    before = {"risk_tier": initiative.risk_tier, "classified_tier": initiative.classified_tier}
    new_risk_tier = effect if effect in RISK_TIERS else None
    row = InitiativeClassification(team_id=initiative.team_id, initiative_id=initiative.id, kind=QUESTIONNAIRE,
                                   questionnaire_version=questionnaire.version, answers=dict(answers),
                                   derived_tier=result.tier, risk_tier=new_risk_tier,
                                   rationale=result.rationale(questionnaire), decided_by=actor.user_id,
                                   decided_at=utcnow())
    session.add(row)
    initiative.classified_tier = result.tier
    if new_risk_tier:
        initiative.risk_tier = new_risk_tier
    initiative.updated_at = utcnow()
    session.add(initiative)
    session.flush()
    record_audit(session, team_id=initiative.team_id, actor=actor.user_id, action="initiative.classified",
                 subject_type="initiative", subject_key=initiative.key, initiative_id=initiative.id, before=before,
                 after={"classified_tier": result.tier, "risk_tier": initiative.risk_tier,
                        "questionnaire_version": questionnaire.version,
                        "rule": result.rule.id if result.rule else None, "answers": dict(answers)})
    if effect == BLOCK:
        cancel_open_review(session, actor=actor, initiative=initiative,
                           reason=f"classified {result.tier} ({_cited(result)}): no gate can be passed")
    assert row.id is not None
    emit(session, ClassificationDecided(team_id=initiative.team_id, actor=actor.user_id,
                                        initiative_id=initiative.id, classification_id=row.id,
                                        blocked=effect == BLOCK))
    return row


def override_risk_tier(session: Session, *, actor: Actor, initiative: Initiative, risk_tier: str,
                       reason: str) -> InitiativeClassification:
    """Set another risk tier than the classification's, with a reason, as the initiative's compliance owner."""
    risk_tier = check_risk_tier(risk_tier)
    reason = clean_reason(reason, what="reason for overriding the classification's risk tier")
    if owners_of(session, initiative_id=initiative.id).get(COMPLIANCE_ROLE) != actor.user_id:
        raise PermissionDenied(f"Only {initiative.key}'s compliance owner can override the risk tier its "
                               f"classification set; their override is the sign-off. Ask them, or name one: "
                               f"`/initiative owners {initiative.key} compliance=@someone`.")
    standing = standing_classification(session, initiative=initiative)
    if standing is None:
        raise Conflict(f"{initiative.key} is not classified yet: `/initiative classify {initiative.key}` first.")
    if initiative.classified_tier == "prohibited":
        raise Conflict(f"{initiative.key} is classified prohibited; no risk tier lifts that. Classify it again if "
                       "the answers were wrong.")
    if risk_tier == initiative.risk_tier:
        raise Conflict(f"{initiative.key}'s risk tier is already {risk_tier}.")
    row = InitiativeClassification(team_id=initiative.team_id, initiative_id=initiative.id, kind="override",
                                   questionnaire_version=standing.questionnaire_version, answers=standing.answers,
                                   derived_tier=standing.derived_tier, risk_tier=risk_tier,
                                   rationale=standing.rationale, reason=reason, decided_by=actor.user_id,
                                   decided_at=utcnow())
    before = initiative.risk_tier
    initiative.risk_tier = risk_tier
    initiative.updated_at = utcnow()
    session.add_all([row, initiative])
    session.flush()
    record_audit(session, team_id=initiative.team_id, actor=actor.user_id, action="initiative.risk_tier_overridden",
                 subject_type="initiative", subject_key=initiative.key, initiative_id=initiative.id,
                 before={"risk_tier": before},
                 after={"risk_tier": risk_tier, "reason": reason, "classified_tier": standing.derived_tier,
                        "signed_off_by": actor.user_id, "role": COMPLIANCE_ROLE})
    return row


def standing_classification(session: Session, *, initiative: Initiative) -> InitiativeClassification | None:
    """The newest classification or override of an initiative."""
    return session.exec(select(InitiativeClassification)
                        .where(InitiativeClassification.initiative_id == initiative.id)
                        .order_by(col(InitiativeClassification.decided_at).desc(),
                                  col(InitiativeClassification.id).desc()).limit(1)).first()


def unclassified(session: Session, *, team_id: str, limit: int = 5) -> tuple[int, list[Initiative]]:
    """How many open initiatives were never classified, and the first few of them (oldest first)."""
    where = (Initiative.team_id == team_id, col(Initiative.classified_tier).is_(None),
             col(Initiative.status).not_in(ENDED))
    count = session.exec(select(func.count()).select_from(Initiative).where(*where)).one()
    first = list(session.exec(select(Initiative).where(*where).order_by(col(Initiative.number)).limit(limit)))
    return count, first


def _cited(result: Result) -> str:
    return result.rule.cites if result.rule else "no rule matched"
