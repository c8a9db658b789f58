"""Workspaces and their gate definitions: created on first sight, with the default template as version 1."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.audit.service import record_audit
from bot.services.errors import NotFound
from bot.services.gates.catalog import GateCatalog, default_document
from storage.models import GateDefinitionVersion, Workspace

SYSTEM_ACTOR = "system"


def ensure_workspace(session: Session, *, team_id: str, name: str = "") -> Workspace:
    """Return the workspace, creating it with the default gate template if this is its first appearance."""
    workspace = session.get(Workspace, team_id)
    if workspace is not None:
        return workspace
    try:
        # A savepoint, so that a replica that loses the race to create it carries on with the winner's row.
        with session.begin_nested():
            workspace = Workspace(team_id=team_id, name=name)
            session.add(workspace)
            session.flush()
            session.add(
                GateDefinitionVersion(
                    team_id=team_id,
                    version=1,
                    definition=default_document(),
                    created_by=SYSTEM_ACTOR,
                    comment="default template",
                )
            )
            session.flush()
            record_audit(
                session,
                team_id=team_id,
                actor=SYSTEM_ACTOR,
                action="gates.initialised",
                subject_type="gates",
                subject_key="v1",
                after={"version": 1, "template": "default"},
                definition_version=1,
            )
    except IntegrityError:
        workspace = session.get(Workspace, team_id, populate_existing=True)
        assert workspace is not None
    return workspace


def workspace_ids(session: Session) -> list[str]:
    """Every workspace this database holds, in order."""
    return list(session.exec(select(Workspace.team_id).order_by(col(Workspace.team_id))))


def latest_definition(session: Session, *, team_id: str) -> GateDefinitionVersion:
    row = session.exec(
        select(GateDefinitionVersion)
        .where(GateDefinitionVersion.team_id == team_id)
        .order_by(col(GateDefinitionVersion.version).desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(f"Workspace {team_id} has no gate definitions.")
    return row


def definition_row(session: Session, *, team_id: str, version: int | None = None) -> GateDefinitionVersion:
    """A given definition version, or the newest one."""
    if version is None:
        return latest_definition(session, team_id=team_id)
    row = session.exec(
        select(GateDefinitionVersion).where(
            GateDefinitionVersion.team_id == team_id, GateDefinitionVersion.version == version
        )
    ).first()
    if row is None:
        raise NotFound(f"Gate definitions version {version} does not exist.")
    return row


def catalog_for(session: Session, *, team_id: str, version: int | None = None) -> GateCatalog:
    """The catalog of a given definition version, or of the newest one (parsed once per process, see
    `ParsedCatalogs`; "the newest" is asked of the database every time, so a new version is seen at once)."""
    if version is None:
        version = _latest_version(session, team_id=team_id)
    if _inserted_here(session, team_id, version):
        # Not committed yet, and may never be: parsed for this transaction only.
        return _parse(definition_row(session, team_id=team_id, version=version))
    catalogs = _parsed_catalogs(session)
    catalog = catalogs.get(team_id, version)
    if catalog is None:
        catalog = catalogs.put(team_id, _parse(definition_row(session, team_id=team_id, version=version)))
    return catalog


# Definitions parsed so far in this process, per database engine. A version is an immutable row, so
# (workspace, version) names its catalog for good. 64 entries hold each workspace's newest version and the older
# ones its open reviews are pinned to, for many more workspaces than one process serves, while a process that
# reads a long history (an audit export over every version) cannot grow without end; an entry is a few KB.
CATALOGS_KEPT = 64


class ParsedCatalogs:
    """A bounded, least-recently-used map (workspace, version) -> GateCatalog, safe to share between threads.
    Catalogs are frozen dataclasses that callers only read, so one object serves every thread."""

    def __init__(self, size: int = CATALOGS_KEPT) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, int], GateCatalog] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, team_id: str, version: int) -> GateCatalog | None:
        with self._lock:
            catalog = self._entries.get((team_id, version))
            if catalog is not None:
                self._entries.move_to_end((team_id, version))
            return catalog

    def put(self, team_id: str, catalog: GateCatalog) -> GateCatalog:
        """Keep `catalog`, or the one another thread kept first (both are the same version's parse)."""
        with self._lock:
            kept = self._entries.setdefault((team_id, catalog.version), catalog)
            self._entries.move_to_end((team_id, catalog.version))
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
            return kept

    def __len__(self) -> int:
        return len(self._entries)


# Keyed by engine (one per database a runtime opens), so two databases' "T1, version 2" never meet, and an engine
# that is gone takes its catalogs with it.
_CATALOGS: weakref.WeakKeyDictionary[Engine, ParsedCatalogs] = weakref.WeakKeyDictionary()
_CATALOGS_LOCK = threading.Lock()
_INSERTED = "gates.definition_versions_inserted"


def _parsed_catalogs(session: Session) -> ParsedCatalogs:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    with _CATALOGS_LOCK:
        catalogs = _CATALOGS.get(engine)
        if catalogs is None:
            catalogs = _CATALOGS[engine] = ParsedCatalogs()
        return catalogs


def _latest_version(session: Session, *, team_id: str) -> int:
    newest = session.exec(
        select(GateDefinitionVersion.version)
        .where(GateDefinitionVersion.team_id == team_id)
        .order_by(col(GateDefinitionVersion.version).desc())
        .limit(1)
    ).first()
    if newest is None:
        raise NotFound(f"Workspace {team_id} has no gate definitions.")
    return newest


def _parse(row: GateDefinitionVersion) -> GateCatalog:
    return GateCatalog.from_document(row.definition, version=row.version)


@event.listens_for(GateDefinitionVersion, "after_insert")
def _remember_insert(mapper: Any, connection: Connection, target: GateDefinitionVersion) -> None:
    """A version written by this session's transaction is not yet one that others see, and a rollback may take
    it back; the cache must not keep it under a number another version may then be saved with."""
    session = Session.object_session(target)
    if session is not None:
        session.info.setdefault(_INSERTED, set()).add((target.team_id, target.version))


def _inserted_here(session: Session, team_id: str, version: int) -> bool:
    return (team_id, version) in session.info.get(_INSERTED, ())
