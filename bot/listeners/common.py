"""What every listener shares: who is acting, and how a failure is phrased."""

from __future__ import annotations

from slack_sdk import WebClient
from sqlmodel import Session

from bot.runtime import Runtime
from bot.services.access.actors import Actor
from bot.services.access.admins import resolve_actor
from bot.services.gates.workspaces import ensure_workspace
from storage.models import Workspace

SOMETHING_WENT_WRONG = "Something went wrong on our side and nothing was changed; please try again in a minute."


def actor_for(runtime: Runtime, session: Session, *, team_id: str, user_id: str, client: WebClient) -> Actor:
    """The one place the Slack surface resolves an actor (and its admin right)."""
    return resolve_actor(
        team_id=team_id,
        user_id=user_id,
        admin_user_ids=runtime.settings.admin_user_ids,
        session=session,
        slack_admins_are_admins=runtime.settings.slack_admins_are_admins,
        users_info=runtime.workspace_roles.remembering(team_id, lambda uid: client.users_info(user=uid)["user"]),
    )


def ensure_workspace_known(runtime: Runtime, team_id: str) -> None:
    """Create the workspace on its first request; every later request only reads here (no write lock)."""
    with runtime.read() as session:
        if session.get(Workspace, team_id) is not None:
            return
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=team_id)
