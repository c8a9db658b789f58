"""Who is acting. Resolved once per request (admin or not), then passed to every service."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session

# users.info for one user id -> Slack's `user` object (only `is_admin` and `is_owner` are read).
UsersInfo = Callable[[str], Mapping[str, Any]]

# How long a workspace role, as Slack last told it, is taken as still true.
ROLE_MEMORY_SECONDS = 300.0


class WorkspaceRoles:
    """Whether Slack calls each person a workspace admin or owner, remembered for a few minutes per workspace and
    person. With SLACK_ADMINS_ARE_ADMINS on, every request asks whether the person acting is one: without this,
    each would wait for a users.info round trip (before a modal can open, too) and a burst would meet its rate
    limit. A role changed in Slack applies within `ttl` seconds."""

    def __init__(self, ttl: float = ROLE_MEMORY_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._known: dict[tuple[str, str], tuple[float, Mapping[str, Any]]] = {}
        self._lock = threading.Lock()

    def remembering(self, team_id: str, users_info: UsersInfo) -> UsersInfo:
        """`users_info`, asked only when this workspace's answer for the person is older than `ttl`."""

        def roles_of(user_id: str) -> Mapping[str, Any]:
            now = self._clock()
            with self._lock:
                known = self._known.get((team_id, user_id))
            if known is not None and now - known[0] < self.ttl:
                return known[1]
            user = users_info(user_id)
            roles = {"is_admin": bool(user.get("is_admin")), "is_owner": bool(user.get("is_owner"))}
            with self._lock:
                self._known[(team_id, user_id)] = (now, roles)
            return roles

        return roles_of


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
