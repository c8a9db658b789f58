"""Who may see an initiative: the one rule every listing, search, export, report and channel post asks.

Today everyone in an initiative's workspace may see it. Confidential initiatives will change `_rule` and nothing
else: `may_see` (one initiative in hand) and `visible_to` (a condition for a query) are both derived from it, so
that a listing and a check of one initiative can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement

from bot.services.access.actors import Actor
from storage.models import Initiative


@dataclass(frozen=True)
class Audience:
    """Who will read what is shown: one person, everyone in a channel, or (neither) the whole workspace."""

    team_id: str
    user_id: str | None = None
    channel_id: str | None = None

    @classmethod
    def of(cls, actor: Actor) -> Audience:
        """The person acting, reading the answer to what they asked."""
        return cls(team_id=actor.team_id, user_id=actor.user_id)

    @classmethod
    def person(cls, *, team_id: str, user_id: str) -> Audience:
        return cls(team_id=team_id, user_id=user_id)

    @classmethod
    def channel(cls, *, team_id: str, channel_id: str | None) -> Audience:
        """Everyone in a channel; without one, the message goes nowhere narrower than the workspace."""
        return cls(team_id=team_id, channel_id=channel_id or None)

    @classmethod
    def workspace(cls, *, team_id: str) -> Audience:
        return cls(team_id=team_id)


def _rule(audience: Audience, initiative: Any) -> Any:
    """The rule, written once over `initiative`: the `Initiative` class (its columns, giving a SQL condition) or
    one row (its values, giving a bool). Use only operators both understand (`==`, `!=`, `&`, `|`)."""
    return initiative.team_id == audience.team_id


def may_see(audience: Audience, initiative: Initiative) -> bool:
    """Whether this audience may see this initiative."""
    return bool(_rule(audience, initiative))


def visible_to(audience: Audience) -> ColumnElement[bool]:
    """The same rule as a condition on `initiative` rows, for queries that list or join initiatives."""
    condition: ColumnElement[bool] = _rule(audience, Initiative)
    return condition
