"""Workspaces and their gate definitions: created on first sight, with the default template as version 1."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.audit.service import record_audit
from bot.services.errors import InvalidInput, NotFound
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


def only_team_id(session: Session, requested: str | None = None) -> str:
    """The workspace a CLI command acts on: the one given, or the only one in the database."""
    team_ids = list(session.exec(select(Workspace.team_id).order_by(col(Workspace.team_id))))
    if requested:
        if requested not in team_ids:
            raise NotFound(f"No workspace {requested} in this database. Known: {', '.join(team_ids) or 'none'}.")
        return requested
    if not team_ids:
        raise NotFound("This database has no workspace yet: run `initiative-bot demo`, or start the bot once.")
    if len(team_ids) > 1:
        raise InvalidInput(f"This database holds several workspaces; pass --team with one of {', '.join(team_ids)}.")
    return team_ids[0]


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
    """The catalog of a given definition version, or of the newest one."""
    row = definition_row(session, team_id=team_id, version=version)
    return GateCatalog.from_document(row.definition, version=row.version)
