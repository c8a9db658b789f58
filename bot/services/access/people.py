"""People's time zones, kept in the database: read from users.info when a stored one is over a day old (a few
people per sweep, never everyone at once) and from `user_change` events. Until a zone is known,
DEFAULT_TIMEZONE applies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, exists
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.services.audit.service import record_audit, remember_identity
from bot.services.events import PersonDeactivated, emit
from storage.models import UserProfile

PROFILE_MAX_AGE = timedelta(days=1)
# Why someone cannot own an initiative (`why_not_an_owner`).
DEACTIVATED_ACCOUNT = "their Slack account is deactivated"
EXTERNAL_PERSON = "they are from another organisation (Slack Connect)"
GUEST = "they are a guest in this workspace"


def parse_zone(name: str | None) -> ZoneInfo | None:
    """A zoneinfo zone for an IANA name, or None when Slack sent nothing usable."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zones_of(session: Session, *, team_id: str, user_ids: Iterable[str] | None = None) -> dict[str, ZoneInfo]:
    """Every known zone in the workspace (or of `user_ids` only), in one query."""
    query = select(UserProfile.user_id, UserProfile.tz).where(UserProfile.team_id == team_id)
    if user_ids is not None:
        query = query.where(col(UserProfile.user_id).in_(sorted(set(user_ids))))
    rows = session.exec(query)
    return {user_id: zone for user_id, tz in rows if (zone := parse_zone(tz)) is not None}


def zone_for(session: Session, *, team_id: str, user_id: str, default: ZoneInfo) -> ZoneInfo:
    profile = session.get(UserProfile, (team_id, user_id))
    return (parse_zone(profile.tz) if profile else None) or default


def display_name_of(user: Mapping[str, Any]) -> str:
    """The name Slack shows for a `users.info` / `user_change` user object."""
    profile = user.get("profile") or {}
    return profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name") or ""


def remember_names(session: Session, *, team_id: str, names: Mapping[str, str], now: datetime) -> None:
    """Names Slack just gave for people (users.info, when they were named owners): kept for the audit trail's
    exports and so that `/initiative find` finds their initiatives by name. In ID order, so that two requests
    naming the same people lock their rows in the same order."""
    for user_id in sorted(names):
        remember_identity(session, team_id=team_id, user_id=user_id, display_name=names[user_id], at=now)


def why_not_an_owner(user: Mapping[str, Any], *, allow_guests: bool) -> str | None:
    """Why the person a `users.info` / `users.lookupByEmail` user object describes cannot own an initiative (said
    after "cannot be an owner: "), or None when they can: a deactivated account, someone from another organisation
    (Slack Connect), or a guest unless `allow_guests` (ALLOW_GUEST_OWNERS). Every way of naming owners asks this."""
    if user.get("deleted"):
        return DEACTIVATED_ACCOUNT
    if user.get("is_stranger"):
        return EXTERNAL_PERSON
    if (user.get("is_restricted") or user.get("is_ultra_restricted")) and not allow_guests:
        return GUEST
    return None


def record_profile(session: Session, *, team_id: str, user_id: str, tz: str | None, now: datetime,
                   display_name: str = "", deleted: bool = False) -> None:
    """Store what Slack says a person's zone is (None: Slack has none, so the default applies), and their name
    as of now for the audit trail's exports and decision records. `deleted`: Slack says the account is
    deactivated; the first time it says so, `PersonDeactivated` is emitted (audited), so that their pending
    sign-offs go to whoever can reassign them."""
    if display_name:
        remember_identity(session, team_id=team_id, user_id=user_id, display_name=display_name, at=now)
    known = session.exec(select(UserProfile.deactivated_at).where(
        UserProfile.team_id == team_id, UserProfile.user_id == user_id)).first()
    deactivated_at = (known or now) if deleted else None
    values = {"team_id": team_id, "user_id": user_id, "tz": tz if parse_zone(tz) else None, "refreshed_at": now,
              "deactivated_at": deactivated_at}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(UserProfile).values(**values)
    # An upsert: two replicas handling the same user_change at once both succeed.
    session.execute(statement.on_conflict_do_update(
        index_elements=["team_id", "user_id"],
        set_={"tz": values["tz"], "refreshed_at": now, "deactivated_at": deactivated_at}
    ))
    if deleted and known is None:
        record_audit(session, team_id=team_id, actor="system", action="person.deactivated", subject_type="person",
                     subject_key=user_id, after={"deactivated_at": now.isoformat()})
        emit(session, PersonDeactivated(team_id=team_id, actor="system", user_id=user_id))


def deactivated(team_id: str, user_id: Any) -> ColumnElement[bool]:
    """A condition: the person (`user_id`, a column) is known to be deactivated in Slack."""
    return exists().where(UserProfile.team_id == team_id, col(UserProfile.user_id) == user_id,
                          col(UserProfile.deactivated_at).is_not(None))


def stale_people(session: Session, *, team_id: str, user_ids: Iterable[str], now: datetime,
                 limit: int) -> list[str]:
    """Up to `limit` of `user_ids` whose zone is unknown or over a day old: never known first, then oldest."""
    wanted = set(user_ids)
    if not wanted or limit <= 0:
        return []
    refreshed: Mapping[str, datetime] = dict(session.exec(
        select(UserProfile.user_id, UserProfile.refreshed_at).where(
            UserProfile.team_id == team_id, col(UserProfile.user_id).in_(sorted(wanted))
        )
    ).all())
    cutoff = now - PROFILE_MAX_AGE
    never = sorted(u for u in wanted if u not in refreshed)
    old = sorted((at, u) for u, at in refreshed.items() if at <= cutoff)
    return (never + [u for _, u in old])[:limit]
