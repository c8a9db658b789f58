"""Who is an admin: ADMIN_USER_IDS, admins added in the app (audited), and optionally Slack's own workspace
admins and owners. Surfaces ask through `resolve_actor`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.access.actors import Actor, UsersInfo, require_admin
from bot.services.audit.service import record_audit
from bot.services.errors import Conflict, InvalidInput, NotFound
from bot.services.validation import check_user_id
from storage.models import AppAdmin


@dataclass(frozen=True)
class AdminEntry:
    user_id: str
    source: str  # "settings" (ADMIN_USER_IDS) | "app" (added with /initiative admins add)
    added_by: str | None = None
    added_at: datetime | None = None


def is_admin(
    session: Session | None,
    *,
    team_id: str,
    user_id: str,
    admin_user_ids: frozenset[str],
    admin_user_ids_team: str,
    users_info: UsersInfo | None = None,
) -> bool:
    """`admin_user_ids` (ADMIN_USER_IDS) are admins of `admin_user_ids_team`, the bot token's workspace, only."""
    if user_id in admin_user_ids and team_id == admin_user_ids_team:
        return True
    if session is not None and _app_admin(session, team_id=team_id, user_id=user_id) is not None:
        return True
    if users_info is None:
        return False
    user = users_info(user_id)
    return bool(user.get("is_admin") or user.get("is_owner"))


def list_admins(session: Session, *, team_id: str, admin_user_ids: frozenset[str]) -> list[AdminEntry]:
    """Admins from the settings first, then those added in the app, oldest first."""
    entries = [AdminEntry(user_id=u, source="settings") for u in sorted(admin_user_ids)]
    rows = session.exec(
        select(AppAdmin).where(AppAdmin.team_id == team_id).order_by(col(AppAdmin.added_at), col(AppAdmin.id))
    )
    entries += [AdminEntry(user_id=r.user_id, source="app", added_by=r.added_by, added_at=r.added_at)
                for r in rows if r.user_id not in admin_user_ids]
    return entries


def add_admin(session: Session, *, actor: Actor, user_id: str) -> AppAdmin:
    """Make someone an admin of this workspace's bot. Admins only; audited."""
    require_admin(actor, doing="add admins")
    user_id = check_user_id(user_id)
    if _app_admin(session, team_id=actor.team_id, user_id=user_id) is not None:
        raise Conflict(f"<@{user_id}> is already an admin.")
    row = AppAdmin(team_id=actor.team_id, user_id=user_id, added_by=actor.user_id)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Someone added the same person between our check and our insert.
        raise Conflict(f"<@{user_id}> is already an admin.") from None
    record_audit(session, team_id=actor.team_id, actor=actor.user_id, action="admin.added", subject_type="admin",
                 subject_key=user_id, after={"user_id": user_id, "admin": True})
    return row


def remove_admin(session: Session, *, actor: Actor, user_id: str, admin_user_ids: frozenset[str]) -> None:
    """Take back an admin right given in the app. Admins only; audited."""
    require_admin(actor, doing="remove admins")
    user_id = check_user_id(user_id)
    if user_id in admin_user_ids:
        raise InvalidInput(f"<@{user_id}> is an admin through ADMIN_USER_IDS; remove them from that setting.")
    row = _app_admin(session, team_id=actor.team_id, user_id=user_id)
    if row is None:
        raise NotFound(f"<@{user_id}> is not an admin added in the app; `/initiative admins list` shows who is.")
    session.delete(row)
    session.flush()
    record_audit(session, team_id=actor.team_id, actor=actor.user_id, action="admin.removed", subject_type="admin",
                 subject_key=user_id, before={"user_id": user_id, "admin": True}, after={"admin": False})


def _app_admin(session: Session, *, team_id: str, user_id: str) -> AppAdmin | None:
    return session.exec(select(AppAdmin).where(AppAdmin.team_id == team_id, AppAdmin.user_id == user_id)).first()


def resolve_actor(
    *,
    team_id: str,
    user_id: str,
    admin_user_ids: frozenset[str],
    admin_user_ids_team: str,
    session: Session | None = None,
    slack_admins_are_admins: bool = False,
    users_info: UsersInfo | None = None,
) -> Actor:
    """The one way surfaces learn who is acting. Admin when listed in ADMIN_USER_IDS and acting in the workspace
    those belong to (`admin_user_ids_team`, the bot token's), added in the app with
    `/initiative admins add` (looked up when a `session` is given), or, only with SLACK_ADMINS_ARE_ADMINS on,
    a Slack workspace admin or owner according to `users_info`."""
    admin = is_admin(
        session,
        team_id=team_id,
        user_id=user_id,
        admin_user_ids=admin_user_ids,
        admin_user_ids_team=admin_user_ids_team,
        users_info=users_info if slack_admins_are_admins else None,
    )
    return Actor(team_id=team_id, user_id=user_id, is_admin=admin)
