"""Who is acting. Resolved once per request (admin or not), then passed to every service."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    team_id: str
    user_id: str
    is_admin: bool = False


def resolve_actor(*, team_id: str, user_id: str, admin_user_ids: frozenset[str]) -> Actor:
    """An actor whose admin right comes from configuration (ADMIN_USER_IDS)."""
    return Actor(team_id=team_id, user_id=user_id, is_admin=user_id in admin_user_ids)
