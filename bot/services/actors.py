"""Who is acting. Resolved once per request (admin or not), then passed to every service."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session

# users.info for one user id -> Slack's `user` object (only `is_admin` and `is_owner` are read).
UsersInfo = Callable[[str], Mapping[str, Any]]


@dataclass(frozen=True)
class Actor:
    team_id: str
    user_id: str
    is_admin: bool = False


def resolve_actor(
    *,
    team_id: str,
    user_id: str,
    admin_user_ids: frozenset[str],
    session: Session | None = None,
    slack_admins_are_admins: bool = False,
    users_info: UsersInfo | None = None,
) -> Actor:
    """The one way surfaces learn who is acting. Admin when listed in ADMIN_USER_IDS, added in the app with
    `/initiative admins add` (looked up when a `session` is given), or, only with SLACK_ADMINS_ARE_ADMINS on,
    a Slack workspace admin or owner according to `users_info`."""
    from bot.services.permissions import is_admin

    admin = is_admin(
        session,
        team_id=team_id,
        user_id=user_id,
        admin_user_ids=admin_user_ids,
        users_info=users_info if slack_admins_are_admins else None,
    )
    return Actor(team_id=team_id, user_id=user_id, is_admin=admin)
