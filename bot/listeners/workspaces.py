"""Workspaces as the Slack surface meets them: created on a workspace's first request, only read afterwards."""

from __future__ import annotations

from bot.runtime import Runtime
from bot.services.gates.workspaces import ensure_workspace
from storage.models import Workspace


def ensure_workspace_known(runtime: Runtime, team_id: str) -> None:
    """Create the workspace on its first request; every later request only reads here (no write lock)."""
    with runtime.read() as session:
        if session.get(Workspace, team_id) is not None:
            return
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=team_id)
