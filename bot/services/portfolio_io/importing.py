"""An import, planned then applied: each row matched to the initiative it updates (key, then title) or created,
every problem of the whole file found before anything is written, and the changes written in bulk.

An import never moves an initiative past its gates: a new one may start in any stage (its history says
"imported into STAGE", and no sign-off is invented), an existing one keeps its stage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Table, update
from sqlmodel import Session, col, select

from bot.services.access.service import GUEST, Actor, require_admin
from bot.services.audit.service import AuditEntry, record_audit_events_at_once
from bot.services.events import PortfolioImported, emit
from bot.services.gates.service import GateCatalog, catalog_for
from bot.services.initiatives.service import assign_owners, edit_initiative
from bot.services.kpis.service import FIRST_KPI_FIELDS, first_kpi_rows, first_kpi_texts
from bot.services.portfolio_io.columns import OWNER_COLUMNS
from bot.services.portfolio_io.rows import ImportRow, Person
from bot.services.portfolio_io.table import Problem
from storage.models import Initiative, Kpi, OwnerAssignment, StageTransition, Workspace
from storage.models.core import new_transition_id
from storage.types import utcnow

# The reason on the first stage transition of an imported initiative ("imported into pilot"): the digest tells
# these apart from new initiatives.
IMPORTED_INTO = "imported into "


@dataclass(frozen=True)
class SlackPerson:
    """Whom Slack found for an address or a user id."""

    user_id: str
    deactivated: bool = False
    # Why they cannot own an initiative (bot.services.access.people.why_not_an_owner: a guest unless
    # ALLOW_GUEST_OWNERS, someone from another organisation), or None when they can.
    cannot_own: str | None = None


# Handed in by the caller: the person Slack knows by that address (users.lookupByEmail) or user id (users.info),
# or None when Slack knows no one.
LookupPerson = Callable[[str], SlackPerson | None]


@dataclass(frozen=True)
class NewInitiative:
    line: int
    fields: dict[str, Any]
    stage: str
    status: str
    owners: dict[str, str]  # role -> user id
    created: date | None


@dataclass(frozen=True)
class Update:
    line: int
    initiative: Initiative
    changes: dict[str, Any]  # field -> new value
    owners: dict[str, str]  # role -> new user id

    @property
    def changed(self) -> list[str]:
        return [*self.changes, *(f"{role} owner" for role in self.owners)]


@dataclass
class ImportPlan:
    team_id: str
    creates: list[NewInitiative] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Created:
    """An initiative the import created."""

    id: int
    key: str
    title: str
    stage: str


@dataclass(frozen=True)
class ImportResult:
    created: list[Created]
    updated: list[Update]
    unchanged: int


def email_addresses(rows: Iterable[ImportRow]) -> list[str]:
    """The distinct addresses the rows name, in a stable order."""
    return sorted({person.email for row in rows for person in row.owners.values() if person.email})


def user_ids(rows: Iterable[ImportRow]) -> list[str]:
    """The distinct Slack user ids the rows name, in a stable order."""
    return sorted({person.user_id for row in rows for person in row.owners.values() if person.user_id})


def resolve_people(rows: Iterable[ImportRow], lookup: LookupPerson | None) -> dict[str, SlackPerson | None]:
    """Each distinct address and user id asked once (users.lookupByEmail allows about 50 calls a minute), so that
    every owner is checked as one named in Slack would be. Without a way to ask Slack (`lookup` None), no address
    resolves (`plan_import` says why) and user ids are taken as given."""
    return {who: lookup(who) for who in [*email_addresses(rows), *user_ids(rows)]} if lookup else {}


def normalised_title(title: str) -> str:
    """Titles match without regard to case or spacing."""
    return " ".join(title.split()).casefold()


def plan_import(
    session: Session,
    *,
    team_id: str,
    rows: Sequence[ImportRow],
    people: Mapping[str, SlackPerson | None],
    now: datetime | None = None,
) -> ImportPlan:
    """Match every row and check it against the workspace; `people` holds the addresses resolved beforehand."""
    now = now or utcnow()
    catalog = catalog_for(session, team_id=team_id)
    existing = list(session.exec(select(Initiative).where(Initiative.team_id == team_id)))
    by_number = {i.number: i for i in existing}
    by_title: dict[str, list[Initiative]] = defaultdict(list)
    for initiative in existing:
        by_title[normalised_title(initiative.title)].append(initiative)
    owners = _owners_by_initiative(session, team_id=team_id)
    kpis = _first_kpis(session, team_id=team_id)
    plan = ImportPlan(team_id=team_id)
    seen: dict[object, int] = {}  # what a row matched or creates -> its line
    for row in rows:
        checker = _RowCheck(row, catalog=catalog, people=people, now=now)
        target = checker.match(by_number, by_title)
        identity = target.id if target is not None else normalised_title(row.title)
        if identity in seen:
            checker.problem("key" if row.number else "title",
                            f"the same initiative as line {seen[identity]}; give each initiative one row")
        elif identity:
            seen[identity] = row.line
        if target is None:
            new = checker.new_initiative()
            if not checker.problems:
                plan.creates.append(new)
        else:
            changed = checker.update(target, owners.get(target.id, {}), kpi_texts=first_kpi_texts(kpis.get(target.id)))
            if changed.changes or changed.owners:
                plan.updates.append(changed)
            else:
                plan.unchanged += 1
        plan.problems.extend(checker.problems)
    return plan


def apply_import(session: Session, *, actor: Actor, plan: ImportPlan, source: str,
                 now: datetime | None = None) -> ImportResult:
    """Write a plan without problems, in the caller's transaction. The audit trail names `actor` for each
    initiative created or updated, and `source` (the file) for each created."""
    require_admin(actor, doing="import initiatives")
    if plan.problems:
        raise ValueError("a plan with problems is never applied")
    now = now or utcnow()
    created = _create_all(session, actor=actor, plan=plan, source=source, now=now)
    for change in plan.updates:
        if change.changes:
            edit_initiative(session, actor=actor, initiative=change.initiative, **change.changes)
        if change.owners:
            assign_owners(session, actor=actor, initiative=change.initiative, owners=change.owners)
    if created:
        people = {user_id for new in plan.creates for user_id in new.owners.values()}
        emit(session, PortfolioImported(team_id=plan.team_id, actor=actor.user_id,
                                        initiative_ids=tuple(i.id for i in created),
                                        people=tuple(sorted(people))))
    return ImportResult(created=created, updated=plan.updates, unchanged=plan.unchanged)


class _RowCheck:
    """One row against the workspace: what it matches, and what it would create or change."""

    def __init__(self, row: ImportRow, *, catalog: GateCatalog, people: Mapping[str, SlackPerson | None],
                 now: datetime) -> None:
        self.row, self.catalog, self.people, self.now = row, catalog, people, now
        self.problems: list[Problem] = []

    def problem(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.row.line, column, message))

    def match(self, by_number: Mapping[int, Initiative],
              by_title: Mapping[str, list[Initiative]]) -> Initiative | None:
        if self.row.number is not None:
            found = by_number.get(self.row.number)
            if found is None:
                self.problem("key", f"there is no initiative AI-{self.row.number} here; leave the key empty to "
                                    f"add it as a new one")
            return found
        matches = by_title.get(normalised_title(self.row.title), []) if self.row.title else []
        if len(matches) > 1:
            keys = " and ".join(i.key for i in sorted(matches, key=lambda i: i.number))
            self.problem("title", f"matches {keys}; add a key column to say which one this row updates")
            return None
        return matches[0] if matches else None

    def new_initiative(self) -> NewInitiative:
        stage = self._stage() or self.catalog.first_stage().id
        created = self._created()
        return NewInitiative(line=self.row.line, fields=dict(self.row.fields), stage=stage,
                             status=self.row.status or "active", owners=self._owners(), created=created)

    def update(self, initiative: Initiative, owners: Mapping[str, str], *, kpi_texts: Mapping[str, str]) -> Update:
        stage = self._stage()
        if stage is not None and stage != initiative.stage:
            self.problem("stage", f"{initiative.key} is in {self._stage_name(initiative.stage)}; an import never "
                                  f"moves an initiative between stages (its gates do: /initiative submit "
                                  f"{initiative.key})")
        if self.row.status is not None and self.row.status != initiative.status:
            self.problem("status", f"{initiative.key} is {initiative.status}; change that with /initiative "
                                   f"pause, resume or retire")
        created = self._created()
        if created is not None and created != initiative.created_at.astimezone(UTC).date():
            self.problem("created", f"{initiative.key} was recorded on "
                                    f"{initiative.created_at.astimezone(UTC).date().isoformat()}; that date stays")
        current = {**kpi_texts, **{name: getattr(initiative, name) for name in self.row.fields
                                   if name not in FIRST_KPI_FIELDS}}
        changes = {name: value for name, value in self.row.fields.items() if current[name] != value}
        if self.row.number is None:
            changes.pop("title", None)  # matched by its title: another case or spacing of it is no new title
        if "risk_tier" in changes and initiative.classified_tier is not None:
            self.problem("risk_tier", f"{initiative.key}'s risk tier ({initiative.risk_tier}) comes from its "
                                      f"classification; its compliance owner can override it: /initiative classify "
                                      f"{initiative.key} override <tier> <reason>")
        new_owners = {role: user for role, user in self._owners().items() if owners.get(role) != user}
        if new_owners and initiative.status == "retired":
            self.problem(_column_of(next(iter(new_owners))),
                         f"{initiative.key} is retired; its owners can no longer change")
        return Update(line=self.row.line, initiative=initiative, changes=changes, owners=new_owners)

    def _stage(self) -> str | None:
        if self.row.stage is None:
            return None
        wanted = self.row.stage.casefold()
        for stage in self.catalog.stages:
            if wanted in (stage.id.casefold(), stage.name.casefold()):
                return stage.id
        self.problem("stage", f"'{self.row.stage[:40]}' is not a stage here; the stages are "
                              f"{', '.join(stage.id for stage in self.catalog.stages)}")
        return None

    def _stage_name(self, stage_id: str) -> str:
        return next((stage.name for stage in self.catalog.stages if stage.id == stage_id), stage_id)

    def _created(self) -> date | None:
        created = self.row.created
        if created is not None and created > self.now.astimezone(UTC).date():
            self.problem("created", f"{created.isoformat()} is in the future")
        return created

    def _owners(self) -> dict[str, str]:
        owners = {}
        for column, person in self.row.owners.items():
            role = OWNER_COLUMNS[column]
            if role not in self.catalog.roles:
                self.problem(column, f"this workspace's gates have no {role} role; its roles are "
                                     f"{', '.join(self.catalog.roles)}")
                continue
            user_id = self._user_id(column, person)
            if user_id:
                owners[role] = user_id
        return owners

    def _user_id(self, column: str, person: Person) -> str | None:
        if person.user_id:
            # One Slack does not know (or could not be asked about) is taken as given, as before the check.
            found = self.people.get(person.user_id)
            return self._able(column, person.user_id, found) if found is not None else person.user_id
        if not person.email:
            return None
        if person.email not in self.people:
            self.problem(column, f"{person.email} cannot be looked up without Slack: set SLACK_BOT_TOKEN, or "
                                 f"give the person's Slack user id (U…)")
            return None
        found = self.people[person.email]
        if found is None:
            self.problem(column, f"Slack knows no one with the address {person.email}")
            return None
        if found.deactivated:
            self.problem(column, f"{person.email} belongs to a deactivated Slack account ({found.user_id})")
            return None
        return self._able(column, person.email, found)

    def _able(self, column: str, named: str, found: SlackPerson) -> str | None:
        """The person's user id, or None (a problem said why) when they cannot own an initiative."""
        if found.cannot_own is None:
            return found.user_id
        allowing = " (an admin may allow guests: ALLOW_GUEST_OWNERS=true)" if found.cannot_own == GUEST else ""
        self.problem(column, f"{named} cannot be an owner: {found.cannot_own}{allowing}")
        return None


def _column_of(role: str) -> str:
    return next(column for column, owner_role in OWNER_COLUMNS.items() if owner_role == role)


def _owners_by_initiative(session: Session, *, team_id: str) -> dict[int, dict[str, str]]:
    owners: dict[int, dict[str, str]] = defaultdict(dict)
    rows = session.exec(select(OwnerAssignment.initiative_id, OwnerAssignment.role, OwnerAssignment.user_id)
                        .where(OwnerAssignment.team_id == team_id))
    for initiative_id, role, user_id in rows:
        owners[initiative_id][role] = user_id
    return owners


def _first_kpis(session: Session, *, team_id: str) -> dict[int, Kpi]:
    return {kpi.initiative_id: kpi for kpi in session.exec(select(Kpi).where(Kpi.team_id == team_id,
                                                                              Kpi.position == 0))}


def _create_all(session: Session, *, actor: Actor, plan: ImportPlan, source: str, now: datetime) -> list[Created]:
    """Every new initiative with a handful of multi-row inserts, whatever their number: keys, initiatives, their
    audit events, their first transitions, their owners. Plain rows, not model objects: building 10,000 SQLModel
    instances alone took longer than inserting them."""
    if not plan.creates:
        return []
    team_id = plan.team_id
    catalog = catalog_for(session, team_id=team_id)
    # Atomic, as create_initiative's: a replica creating at the same time gets the keys after these.
    last = session.execute(
        update(Workspace).where(col(Workspace.team_id) == team_id)
        .values(next_initiative_number=Workspace.next_initiative_number + len(plan.creates))
        .returning(Workspace.next_initiative_number)
    ).scalar_one()
    first_number = last - len(plan.creates)
    rows = [_initiative_row(new, team_id=team_id, number=first_number + index, actor=actor, now=now)
            for index, new in enumerate(plan.creates)]
    connection = session.connection()
    ids = connection.execute(_table(Initiative).insert().returning(_table(Initiative).c.id,
                                                                   sort_by_parameter_order=True), rows).scalars().all()
    created = [Created(id=initiative_id, key=f"AI-{row['number']}", title=row["title"], stage=row["stage"])
               for row, initiative_id in zip(rows, ids, strict=True)]
    audit_ids = record_audit_events_at_once(session, team_id=team_id, entries=[
        AuditEntry(actor=actor.user_id, action="initiative.imported", subject_type="initiative",
                   subject_key=initiative.key, initiative_id=initiative.id, at=now, definition_version=catalog.version,
                   after={**new.fields, "stage": new.stage, "status": new.status, "owners": new.owners,
                          "file": source})
        for initiative, new in zip(created, plan.creates, strict=True)
    ])
    connection.execute(_table(StageTransition).insert(), [
        {"id": row["current_transition_id"], "team_id": team_id, "initiative_id": initiative.id,
         "from_stage": None, "to_stage": initiative.stage, "at": now, "reason": f"{IMPORTED_INTO}{initiative.stage}",
         "actor": actor.user_id, "review_id": None, "audit_event_id": audit_id}
        for row, initiative, audit_id in zip(rows, created, audit_ids, strict=True)
    ])
    owner_rows = [{"team_id": team_id, "initiative_id": initiative.id, "role": role, "user_id": user_id,
                   "assigned_by": actor.user_id, "assigned_at": now}
                  for initiative, new in zip(created, plan.creates, strict=True)
                  for role, user_id in new.owners.items()]
    if owner_rows:
        connection.execute(_table(OwnerAssignment).insert(), owner_rows)
    kpi_rows = [row for initiative, new in zip(created, plan.creates, strict=True)
                for row in first_kpi_rows(team_id=team_id, initiative_id=initiative.id, now=now,
                                          texts={name: new.fields.get(name, "") for name in FIRST_KPI_FIELDS})]
    if kpi_rows:
        connection.execute(_table(Kpi).insert(), kpi_rows)
    return created


def _table(model: type) -> Table:
    return model.__table__  # type: ignore[attr-defined]


def _initiative_row(new: NewInitiative, *, team_id: str, number: int, actor: Actor, now: datetime) -> dict[str, Any]:
    """Every column of a new initiative, defaults included (a multi-row INSERT applies no model defaults)."""
    return {
        "team_id": team_id, "number": number, "title": "", "description": "", "problem": "", "risk_tier": "medium",
        "business_unit": "", "tags": [], "channel_id": None, "mlflow_model": None,
        **{name: value for name, value in new.fields.items() if name not in FIRST_KPI_FIELDS},
        "status": new.status, "retired_reason": "imported as retired" if new.status == "retired" else None,
        "stage": new.stage, "stage_entered_at": now, "current_transition_id": new_transition_id(),
        "created_by": actor.user_id, "created_at": datetime.combine(new.created, time(), tzinfo=UTC) if new.created
        else now, "updated_at": now,
    }
