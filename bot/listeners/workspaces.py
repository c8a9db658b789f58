"""The workspace the app serves: created, with its default gates, when the app starts, so that its very first
request (`/initiative gates` included) finds them, and no request pays to learn that it exists."""

from __future__ import annotations

from bot.runtime import Runtime
from bot.services.gates.workspaces import ensure_workspace
from storage.models import Workspace


def ensure_served_workspace(runtime: Runtime, team_id: str) -> None:
    """Create the workspace if this database does not hold it yet. Only a read when it does, so that replicas and
    workers starting together do not queue for the write lock."""
    with runtime.read() as session:
        if session.get(Workspace, team_id) is not None:
            return
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=team_id)
