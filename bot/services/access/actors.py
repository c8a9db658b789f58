"""Who is acting. Resolved once per request (admin or not), then passed to every service."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.services.errors import PermissionDenied

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


def require_admin(actor: Actor, *, doing: str) -> None:
    if not actor.is_admin:
        raise PermissionDenied(f"Only an admin can {doing}.")
