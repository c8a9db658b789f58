"""Workspaces as the Slack surface meets them: created on a workspace's first request, only read afterwards."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from sqlalchemy import Engine

from bot.runtime import Runtime
from bot.services.gates.workspaces import ensure_workspace
from storage.models import Workspace

# The workspaces each database is known to hold. A workspace is never deleted, so once seen it need not be asked
# for again: `/initiative list` and App Home would otherwise pay a transaction of their own for it every time.
_KNOWN: WeakKeyDictionary[Engine, set[str]] = WeakKeyDictionary()


def ensure_workspace_known(runtime: Runtime, team_id: str) -> None:
    """Create the workspace on its first request; every later request only reads here (no write lock)."""
    known = _KNOWN.setdefault(runtime.engine, set())
    if team_id in known:
        return
    with runtime.read() as session:
        exists = session.get(Workspace, team_id) is not None
    if not exists:
        with runtime.transaction() as session:
            ensure_workspace(session, team_id=team_id)
    known.add(team_id)
