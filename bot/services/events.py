"""Domain events: what happened, for whoever must react inside the same transaction (Slack messages via the
outbox, webhooks). Services emit them onto the session; `bot.runtime.Runtime.transaction` hands them to the
registered handlers just before commit, so a reaction is written atomically with its cause."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

_KEY = "domain_events"


@dataclass(frozen=True)
class DomainEvent:
    team_id: str
    actor: str


@dataclass(frozen=True)
class InitiativeCreated(DomainEvent):
    initiative_id: int


@dataclass(frozen=True)
class PortfolioImported(DomainEvent):
    """Initiatives created by an import, at once (one event, not thousands of InitiativeCreated)."""

    initiative_ids: tuple[int, ...]
    people: tuple[str, ...]  # their owners


@dataclass(frozen=True)
class OwnersChanged(DomainEvent):
    initiative_id: int
    changes: tuple[tuple[str, str | None, str], ...]  # (role, previous user, new user)
    moved_sign_off_ids: tuple[int, ...]


@dataclass(frozen=True)
class ReviewOpened(DomainEvent):
    initiative_id: int
    review_id: int


@dataclass(frozen=True)
class SignOffDecided(DomainEvent):
    initiative_id: int
    review_id: int
    sign_off_id: int
    decision: str  # approved | changes_requested | waived


@dataclass(frozen=True)
class ReviewClosed(DomainEvent):
    initiative_id: int
    review_id: int
    state: str  # passed | changes_requested | cancelled


@dataclass(frozen=True)
class StageChanged(DomainEvent):
    initiative_id: int
    from_stage: str | None
    to_stage: str
    review_id: int | None


@dataclass(frozen=True)
class StatusChanged(DomainEvent):
    initiative_id: int
    status: str  # active | paused | held | retired | killed
    reason: str


@dataclass(frozen=True)
class OutcomeDecided(DomainEvent):
    """A hold, its extension, a recycle or a kill was decided (bot/services/outcomes)."""

    initiative_id: int
    outcome_id: int
    what: str  # held | hold_extended | recycled | killed


GATE_OUTCOMES = ("go", "conditional_go", "hold", "recycle", "kill")


@dataclass(frozen=True)
class GateDecided(DomainEvent):
    """A gate's outcome: Go or Conditional Go when its review passed (bot/services/reviews), Hold, Recycle or Kill
    when the sponsor or the reviewers decided so (bot/services/outcomes). `gate_id` is the gate the decision is
    about (None for an initiative in its last stage); `target_on` the date set for passing the next gate."""

    initiative_id: int
    gate_id: str | None
    outcome: str  # one of GATE_OUTCOMES
    review_id: int | None = None
    target_on: date | None = None


@dataclass(frozen=True)
class ClassificationDecided(DomainEvent):
    """An initiative was classified with the questionnaire (bot/services/regulation); `blocked`: its result
    blocks every gate (prohibited), which the admins are told."""

    initiative_id: int
    classification_id: int
    blocked: bool


@dataclass(frozen=True)
class InitiativeFlagged(DomainEvent):
    """A flag (At risk, Stale model) was raised on an initiative, or cleared (bot/services/attestation)."""

    initiative_id: int
    flag_id: int
    kind: str  # at_risk | stale_model
    raised: bool  # False: cleared


@dataclass(frozen=True)
class TrackedItemChanged(DomainEvent):
    """A condition or expired waiver was created, met, cancelled, reassigned or found overdue
    (bot/services/tracked_items)."""

    initiative_id: int
    item_id: int
    kind: str  # condition | waiver
    what: str  # created | met | cancelled | reassigned | overdue
    previous_owner: str | None = None  # a reassignment's: it no longer waits on them


@dataclass(frozen=True)
class KpiRecorded(DomainEvent):
    """An actual of a KPI was recorded, or corrected (bot/services/kpis)."""

    initiative_id: int
    kpi_id: int
    actual_id: int
    corrected: bool  # it replaced the value recorded earlier for the same date


@dataclass(frozen=True)
class EvidenceLinkChanged(DomainEvent):
    """A link's check changed what sign-off DMs show next to it (ok <-> broken, or why it is broken)."""

    url: str


@dataclass(frozen=True)
class AutomaticCheckChanged(DomainEvent):
    """An automatic checklist item's result (outcome or evidence) changed on an open review."""

    review_id: int
    role: str


@dataclass(frozen=True)
class DigestPosted(DomainEvent):
    digest_name: str
    week: str  # ISO week, 2026-W48
    channel_id: str | None
    ts: str | None


@dataclass(frozen=True)
class PersonDeactivated(DomainEvent):
    """Slack said `user_id`'s account was deactivated: their pending sign-offs need another owner."""

    user_id: str


@dataclass(frozen=True)
class DelegationEnded(DomainEvent):
    """`owner`'s delegation to `delegate` ended: its owner ended it, or its last day passed. What the delegate's
    desk listed for the owner leaves it."""

    owner: str
    delegate: str


def emit(session: Session, event: DomainEvent) -> None:
    session.info.setdefault(_KEY, []).append(event)


def take_events(session: Session) -> list[DomainEvent]:
    """Remove and return the events emitted so far in this session."""
    return session.info.pop(_KEY, [])
