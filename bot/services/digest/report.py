"""The digest as typed data: what the Block Kit builder, the text renderer and the chart draw from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.services.kpis.service import ValueRow, ValueTotal
from bot.services.webhooks.service import BrokenLink


@dataclass(frozen=True)
class FunnelRow:
    stage_id: str
    stage_name: str
    active: int
    active_last_week: int
    paused: int
    held: int = 0  # on hold: the sponsor's "not now", counted apart from the owners' pauses
    recycled: int = 0  # of the active ones, sent back into this stage by a recycle this week (not new entries)

    @property
    def change(self) -> int:
        return self.active - self.active_last_week


@dataclass(frozen=True)
class Movement:
    """One thing that happened to an initiative during the week."""

    key: str
    title: str
    at: datetime
    detail: str  # e.g. "Idea → Pilot through Pilot approval", "retired: merged into AI-7"


@dataclass(frozen=True)
class StalledItem:
    key: str
    title: str
    stage_name: str
    days_in_stage: int
    threshold: int


@dataclass(frozen=True)
class HoldDue:
    """An initiative on hold whose revisit date has passed: its sponsor has a decision to make."""

    key: str
    title: str
    stage_name: str
    revisit_on: date
    reason: str


@dataclass(frozen=True)
class FlaggedItem:
    """An initiative flagged At risk or Stale model at as_of (bot/services/attestation), with why."""

    key: str
    title: str
    stage_name: str
    flag: str  # "At risk", "Stale model"
    detail: str
    since: datetime


@dataclass(frozen=True)
class PastTarget:
    """An initiative that has not passed its next gate by the target date its previous gate's deciders set."""

    key: str
    title: str
    stage_name: str
    target_on: date


@dataclass(frozen=True)
class ExpiredWaiver:
    """A waived checklist item whose waiver expired: a tracked item its owner meets, or waives again."""

    key: str  # AI-7-W1
    initiative_key: str
    title: str
    text: str
    owner: str
    expired_on: date


@dataclass(frozen=True)
class WaitingItem:
    """A pending sign-off: `assignee` blocks `key` at `gate_name`."""

    key: str
    title: str
    gate_name: str
    role_name: str
    assignee: str
    requested_at: datetime
    business_days_waiting: int
    due_at: datetime
    overdue: bool


@dataclass(frozen=True)
class DeliveryFailure:
    method: str
    channel: str
    error: str
    at: datetime


@dataclass(frozen=True)
class Conversion:
    """Pilot-to-production: of `cohort` initiatives first entering Pilot in the year, `converted` reached Production."""

    cohort: int
    converted: int

    @property
    def rate(self) -> float | None:
        return self.converted / self.cohort if self.cohort else None

    def counted(self) -> str:
        """`2 of 5 (40%)`, as the digest and its chart say it; `none` for an empty cohort."""
        return f"{self.converted} of {self.cohort} ({self.rate:.0%})" if self.rate is not None else "none"


@dataclass(frozen=True)
class Median:
    days: float | None
    count: int


@dataclass(frozen=True)
class Trend:
    """Active initiatives per stage at the end of each of the last 12 weeks (oldest first)."""

    points: tuple[datetime, ...]
    series: dict[str, tuple[int, ...]]  # stage name -> counts


@dataclass(frozen=True)
class ConditionCounts:
    """Conditional Gos' conditions: open now (of them, past their due date), and met during the week."""

    open: int = 0
    overdue: int = 0
    met: int = 0


@dataclass(frozen=True)
class DigestReport:
    name: str
    scope: str  # "all initiatives", "tag: genai", "team: Claims"
    as_of: datetime
    window_start: datetime
    week: str
    timezone: str
    funnel: tuple[FunnelRow, ...]
    new: tuple[Movement, ...]
    advanced: tuple[Movement, ...]
    sent_back: tuple[Movement, ...]
    paused: tuple[Movement, ...]
    retired: tuple[Movement, ...]
    stalled: tuple[StalledItem, ...]
    waiting: tuple[WaitingItem, ...]
    delivery_failures: tuple[DeliveryFailure, ...]
    broken_links: tuple[BrokenLink, ...]
    conversion: Conversion
    median_days_in_stage: dict[str, Median]  # stage name -> median
    median_turnaround_by_role: dict[str, Median]  # role name -> median, in days
    trend: Trend
    recycled: tuple[Movement, ...] = ()
    held: tuple[Movement, ...] = ()
    killed: tuple[Movement, ...] = ()  # with the rationale and what was learned
    holds_due: tuple[HoldDue, ...] = ()
    imported: tuple[Movement, ...] = ()  # entered the bot this week through `initiative-bot import`: not new work
    unclassified: tuple[tuple[str, str], ...] = ()  # (key, title) of open initiatives never classified, oldest first
    flagged: tuple[FlaggedItem, ...] = ()  # after go-live: At risk, Stale model
    past_target: tuple[PastTarget, ...] = ()
    expired_waivers: tuple[ExpiredWaiver, ...] = ()  # open at as_of, of initiatives not killed or retired
    conditions: ConditionCounts = ConditionCounts()
    value: tuple[ValueRow, ...] = ()  # each KPI of each active initiative in Production or later
    value_totals: tuple[ValueTotal, ...] = ()  # value delivered per currency (bot.services.kpis.value)
    # Movements of initiatives the readers may not see (confidential), by kind: counted, never named.
    confidential_moved: dict[str, int] = field(default_factory=dict)

    @property
    def paused_total(self) -> int:
        return sum(row.paused for row in self.funnel)

    @property
    def held_total(self) -> int:
        return sum(row.held for row in self.funnel)
