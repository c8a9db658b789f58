"""Small builders for domain tests."""

from __future__ import annotations

from bot.services.access.actors import Actor

TEAM = "T0TEST"


def actor(user_id: str, *, admin: bool = False, team_id: str = TEAM) -> Actor:
    return Actor(team_id=team_id, user_id=user_id, is_admin=admin)
