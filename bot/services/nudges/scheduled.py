"""What the nudge job calls (bot/jobs/nudges.py): the sweep decides who is reminded or escalated to now, and
writes those DMs to the outbox, in one transaction; before it, a few stale time zones are refreshed. Each DM is
queued as an intent (`NUDGE_INTENT`): when the sender sends it, it leaves out what was decided or closed since
(`no_longer_listed`, read from the nudge log and the sign-off and tracked-item tables), so a decision's transaction
never touches a queued nudge.

The domain words nothing itself and calls no Slack API: the job hands in how a notice reads (`render`) and how
a person's Slack profile is looked up (`profiles`).

Several replicas may run the sweep at once:
- PostgreSQL: a transaction-scoped lease (`pg_try_advisory_xact_lock`; session locks are unsafe behind
  pooled connections and PgBouncer) lets one replica sweep while the others return at once; the outbox's
  own claims (`FOR UPDATE SKIP LOCKED`) keep senders apart; and the unique constraint on (workspace,
  recipient, local date, kind) of `nudge_log` is the final guard, should two sweeps ever decide the same DM.
- SQLite (one process, documented): every transaction begins with BEGIN IMMEDIATE, so a sweep holds the
  database's single write lock from its first read to its commit, and the unique constraint still applies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.delivery.outbox import RENDER, enqueue
from bot.services.access.service import display_name_of, parse_zone, record_profile, stale_people
from bot.services.business_days import WorkCalendar
from bot.services.kpis.scheduled import record_reminded
from bot.services.nudges.policy import Notice, Plan, World, plan
from bot.services.nudges.state import load_world, people_to_notify
from bot.services.scheduling import JobRuntime
from bot.services.tracked_items.service import record_overdue
from storage.db import is_sqlite
from storage.models import NudgeLog, SignOff, TrackedItem, Workspace
from storage.types import utcnow

# A notice as the payload of a chat.postMessage (text, blocks), without the channel.
NoticeRenderer = Callable[[Notice], dict[str, Any]]
# The outbox intent of a nudge or escalation DM: its payload as the sweep rendered it, and its nudge log row.
NUDGE_INTENT, NUDGE_LOG = "nudge", "nudge_log_id"
# A person's Slack user object ({} when Slack had none to give); raises LookupsExhausted when rate-limited.
ProfileLookup = Callable[[str], Mapping[str, Any]]
# When a person's Do Not Disturb ends, if it is on at the given moment (None: it is off, or Slack did not say).
DndLookup = Callable[[str, datetime], datetime | None]


class LookupsExhausted(Exception):
    """Slack's rate limit for profile lookups was reached: the rest wait for the next sweep."""


@dataclass(frozen=True)
class Profile:
    """What users.info told us about one person: their zone (None: Slack has none) and name."""

    team_id: str
    user_id: str
    tz: str | None
    display_name: str
    deleted: bool = False  # the account is deactivated


SWEEP_LOCK_KEY = 0x1B07_0006
INSERT_CHUNK = 500  # rows per INSERT: within SQLite's bound-parameter limit
ZONE_LOOKUPS_PER_SWEEP = 20  # users.info is Tier 4 (100/min); a sweep runs every 15 minutes

log = logging.getLogger(__name__)


@dataclass
class TeamSweep:
    team_id: str
    plan: Plan
    calendar: WorkCalendar  # whose zones the plan knew (the rest were judged in the default zone)
    written: list[Notice] = field(default_factory=list)  # in the outbox now
    already_sent: list[Notice] = field(default_factory=list)  # stopped by the unique constraint


@dataclass
class SweepResult:
    now: datetime
    leased: bool = True  # False: another replica held the lease, so this one did nothing
    teams: list[TeamSweep] = field(default_factory=list)
    zones_read: int | None = None  # how many zones were read from Slack first; None: Slack was not asked

    @property
    def written(self) -> int:
        return sum(len(team.written) for team in self.teams)


def run_sweep(runtime: JobRuntime, *, render: NoticeRenderer, now: datetime | None = None, send: bool = True,
              profiles: ProfileLookup | None = None, team_id: str | None = None,
              do_not_disturb: DndLookup | None = None) -> SweepResult:
    """One sweep. With `send`, the DMs (as `render` words them) are written to the outbox; without, this is a dry
    run that writes nothing and decides exactly what `send` would decide at `now`. With `profiles`, both first
    read the same few stale time zones from Slack; only `send` stores them. With `do_not_disturb`, a DM to someone
    whose Do Not Disturb is on is held (not written, not logged): a later sweep sends it once DND has ended, within
    their working hours as always."""
    now = (now or utcnow()).astimezone(UTC)
    read = read_stale_profiles(runtime, profiles, now=now) if profiles is not None else None
    if send and read:
        record_profiles(runtime, read, now=now)
    # Asked outside any transaction, of only the people this sweep would message (what a dry run decides).
    disturbed: frozenset[str] = frozenset()
    if send and do_not_disturb is not None:
        would = run_sweep(runtime, render=render, now=now, send=False, team_id=team_id)
        disturbed = frozenset(person for person in {n.recipient for s in would.teams for n in s.plan.notices}
                              if (ends := do_not_disturb(person, now)) is not None and ends > now)
    result = SweepResult(now=now, zones_read=None if read is None else len(read))
    with runtime.transaction() if send else runtime.read() as session:
        if send and not _take_lease(session):
            log.info("nudge sweep skipped: another replica holds the lease")
            result.leased = False
            return result
        for team in _teams(session, team_id):
            world = load_world(session, team_id=team, now=now, default_zone=runtime.settings.default_zone,
                               admin_user_ids=runtime.settings.admin_user_ids)
            if not send and read:
                world = _as_if_recorded(world, [profile for profile in read if profile.team_id == team])
            planned = plan(world, now)
            if disturbed:
                planned = replace(planned, notices=[n for n in planned.notices if n.recipient not in disturbed])
            sweep = TeamSweep(team_id=team, plan=planned, calendar=world.calendar)
            if send:
                # Each condition (or expired waiver) found overdue is recorded once: `condition.overdue`.
                record_overdue(session, team_id=team, calendar=world.calendar, now=now)
                write_notices(session, sweep, now, render=render)
            result.teams.append(sweep)
    if send:
        log.info("nudge sweep at %s: %d DM(s) written to the outbox, %d person(s) in Do Not Disturb held",
                 now.isoformat(), result.written, len(disturbed))
    return result


def refresh_zones(runtime: JobRuntime, profiles: ProfileLookup, *, now: datetime,
                  limit: int = ZONE_LOOKUPS_PER_SWEEP) -> int:
    """Read and store the zones of up to `limit` people the sweep is about to consider whose stored zone is missing
    or over a day old. Returns how many were refreshed."""
    found = read_stale_profiles(runtime, profiles, now=now, limit=limit)
    record_profiles(runtime, found, now=now)
    return len(found)


def read_stale_profiles(runtime: JobRuntime, profiles: ProfileLookup, *, now: datetime,
                        limit: int = ZONE_LOOKUPS_PER_SWEEP) -> list[Profile]:
    """Ask Slack (outside any transaction) for up to `limit` people the sweep is about to consider whose stored
    zone is missing or over a day old, never known first. Writes nothing."""
    with runtime.read() as session:
        wanted = {team: stale_people(session, team_id=team, now=now, limit=limit,
                                     user_ids=people_to_notify(session, team_id=team, now=now,
                                                               admin_user_ids=runtime.settings.admin_user_ids))
                  for team in _teams(session, None)}
    found: list[Profile] = []
    for team, user_ids in wanted.items():
        for user_id in user_ids[: max(limit - len(found), 0)]:
            try:
                user = profiles(user_id)
            except LookupsExhausted:
                return found  # the rest wait for the next sweep
            found.append(Profile(team, user_id, user.get("tz"), display_name_of(user), bool(user.get("deleted"))))
    return found


def record_profiles(runtime: JobRuntime, found: Sequence[Profile], *, now: datetime) -> None:
    if found:
        with runtime.transaction() as session:
            for profile in found:
                record_profile(session, team_id=profile.team_id, user_id=profile.user_id, tz=profile.tz, now=now,
                               display_name=profile.display_name, deleted=profile.deleted)


def _as_if_recorded(world: World, found: Sequence[Profile]) -> World:
    """The world a sweep would see once `found` is stored (a dry run stores nothing): a zone Slack gave replaces
    the stored one, and where Slack has none the default applies."""
    zones = dict(world.zones)
    for profile in found:
        if (zone := parse_zone(profile.tz)) is not None:
            zones[profile.user_id] = zone
        else:
            zones.pop(profile.user_id, None)
    return replace(world, zones=zones)


@dataclass(frozen=True)
class NoLongerListed:
    """What a nudge DM (its log row) listed that is settled by now: sign-offs decided, items met or cancelled."""

    kind: str
    decided: set[int]
    closed: set[int]


def no_longer_listed(session: Session, *, team_id: str, log_id: int) -> NoLongerListed:
    """Read when the DM is sent: the sign-offs and tracked items its nudge log row lists that are no longer
    pending (open)."""
    entry = session.get(NudgeLog, log_id)
    assert entry is not None and entry.team_id == team_id
    listed = {int(i) for i in entry.sign_off_ids}
    listed_items = {int(i) for i in entry.item_ids}
    still_pending = set(session.exec(
        select(SignOff.id).where(col(SignOff.id).in_(listed), SignOff.state == "pending")).all()) if listed else set()
    still_open = set(session.exec(
        select(TrackedItem.id).where(col(TrackedItem.id).in_(listed_items), TrackedItem.state == "open")
    ).all()) if listed_items else set()
    return NoLongerListed(kind=entry.kind, decided=listed - still_pending, closed=listed_items - still_open)


def _take_lease(session: Session) -> bool:
    if is_sqlite(session.get_bind()):  # type: ignore[arg-type]
        return True  # BEGIN IMMEDIATE: this transaction already holds the only write lock
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SWEEP_LOCK_KEY}).scalar())


def _teams(session: Session, team_id: str | None) -> list[str]:
    query = select(Workspace.team_id).where(col(Workspace.suspended_at).is_(None)).order_by(col(Workspace.team_id))
    if team_id is not None:
        query = query.where(Workspace.team_id == team_id)
    return list(session.exec(query).all())


def write_notices(session: Session, sweep: TeamSweep, now: datetime, *, render: NoticeRenderer) -> None:
    """Log every decided DM (the unique constraint drops any a concurrent sweep already logged), then enqueue
    those that were logged here, link each log row to its outbox row, and record the KPI requests they carry."""
    notices = sweep.plan.notices
    if not notices:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    rows = [{"team_id": sweep.team_id, "recipient": n.recipient, "local_date": n.local_date, "kind": n.kind,
             "sign_off_ids": n.sign_off_ids, "reminded_ids": n.reminded_ids, "item_ids": n.item_ids,
             "reminded_item_ids": n.reminded_item_ids, "created_at": now}
            for n in notices]
    log_ids: dict[tuple[str, str], int] = {}
    for start in range(0, len(rows), INSERT_CHUNK):
        inserted = session.execute(
            dialect.insert(NudgeLog).values(rows[start:start + INSERT_CHUNK]).on_conflict_do_nothing(
                index_elements=["team_id", "recipient", "local_date", "kind"]
            ).returning(NudgeLog.id, NudgeLog.recipient, NudgeLog.kind)
        ).all()
        log_ids.update({(recipient, kind): log_id for log_id, recipient, kind in inserted})
    links = []
    for notice in notices:
        log_id = log_ids.get((notice.recipient, notice.kind))
        if log_id is None:
            sweep.already_sent.append(notice)
            continue
        outbox = enqueue(session, team_id=sweep.team_id, method="chat.postMessage",
                         # A user ID as the channel posts to the app's DM with them: no conversations.open. An
                         # intent, so that what was decided before it is sent is left out (`no_longer_listed`).
                         payload={RENDER: NUDGE_INTENT, NUDGE_LOG: str(log_id), "channel": notice.recipient,
                                  **render(notice)},
                         dedupe_key=f"{notice.kind}:{notice.recipient}:{notice.local_date.isoformat()}")
        links.append({"id": log_id, "outbox_id": outbox.id})
        for due in notice.kpis:  # once per period: the next request is counted from this one
            record_reminded(session, due)
        sweep.written.append(notice)
    if links:
        session.execute(update(NudgeLog), links)  # one executemany, by primary key
