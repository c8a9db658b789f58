"""Who may see an initiative: the one rule every listing, search, export, report and channel post asks.

Everyone in an initiative's workspace may see it, unless it is confidential: then only its owners (the sponsor is
one), the people they delegated to while the delegation lasts, and admins (the command line acts as one). A
channel or the whole workspace never sees a confidential initiative; reports that must count it ask
`confidential_hidden_from`. `may_see` (one initiative in hand) and `visible_to` (a condition for a query) are both
derived from `visible_to`'s one condition, so that a listing and a check of one initiative can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, or_
from sqlalchemy.orm import object_session
from sqlmodel import col, select

from bot.services.access.actors import Actor
from bot.services.access.delegation import delegating_to
from storage.models import Initiative, OwnerAssignment
from storage.types import utcnow


@dataclass(frozen=True)
class Audience:
    """Who will read what is shown: one person, everyone in a channel, or (neither) the whole workspace; `at`:
    when they read it (the delegations in force then count), None for now."""

    team_id: str
    user_id: str | None = None
    channel_id: str | None = None
    is_admin: bool = False
    at: datetime | None = None

    @classmethod
    def of(cls, actor: Actor) -> Audience:
        """The person acting, reading the answer to what they asked."""
        return cls(team_id=actor.team_id, user_id=actor.user_id, is_admin=actor.is_admin)

    @classmethod
    def person(cls, *, team_id: str, user_id: str, is_admin: bool = False, at: datetime | None = None) -> Audience:
        return cls(team_id=team_id, user_id=user_id, is_admin=is_admin, at=at)

    @classmethod
    def admin(cls, *, team_id: str) -> Audience:
        """An admin of the workspace: the command line, run by whoever runs the bot."""
        return cls(team_id=team_id, is_admin=True)

    @classmethod
    def channel(cls, *, team_id: str, channel_id: str | None) -> Audience:
        """Everyone in a channel; without one, the message goes nowhere narrower than the workspace."""
        return cls(team_id=team_id, channel_id=channel_id or None)

    @classmethod
    def workspace(cls, *, team_id: str) -> Audience:
        return cls(team_id=team_id)


def visible_to(audience: Audience) -> ColumnElement[bool]:
    """The rule, as a condition on `initiative` rows, for queries that list or join initiatives; a delegation
    counts while it is in force at `audience.at` (bot.services.access.delegation.in_force)."""
    in_workspace = col(Initiative.team_id) == audience.team_id
    if audience.is_admin:
        return in_workspace
    if audience.user_id is None:  # a channel, or the whole workspace
        return in_workspace & ~col(Initiative.confidential)
    delegating_to_reader = delegating_to(team_id=audience.team_id, delegate=audience.user_id,
                                         now=audience.at or utcnow())
    owned_by_reader = exists().where(
        col(OwnerAssignment.initiative_id) == Initiative.id,
        or_(OwnerAssignment.user_id == audience.user_id, col(OwnerAssignment.user_id).in_(delegating_to_reader)))
    return in_workspace & or_(~col(Initiative.confidential), owned_by_reader)


def may_see(audience: Audience, initiative: Initiative) -> bool:
    """Whether this audience may see this initiative (read in a session, which the rule asks about owners)."""
    if initiative.team_id != audience.team_id:
        return False
    if not initiative.confidential or audience.is_admin:
        return True  # what the condition says, without a query
    session = object_session(initiative)
    assert session is not None, "may_see needs an initiative read in a session"
    query = select(Initiative.id).where(Initiative.id == initiative.id, visible_to(audience))
    return session.exec(query).first() is not None  # type: ignore[call-overload]


def confidential_hidden_from(audience: Audience) -> ColumnElement[bool]:
    """The initiatives in the audience's workspace that it may not see: counted in its totals, never named."""
    return (col(Initiative.team_id) == audience.team_id) & ~visible_to(audience)
