"""What every listener shares: who is acting, and how a failure is phrased."""

from __future__ import annotations

from slack_sdk import WebClient
from sqlmodel import Session

from bot.runtime import Runtime
from bot.services.access.actors import Actor
from bot.services.access.admins import resolve_actor

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
