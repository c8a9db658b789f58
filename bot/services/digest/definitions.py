"""Digest definitions: the default one from DIGEST_CHANNEL, and further ones admins add."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.services.actors import Actor
from bot.services.audit import record_audit
from bot.services.digest.schedule import cron_trigger, zone_named
from bot.services.errors import Conflict, InvalidInput, NotFound
from bot.services.initiatives import require_admin
from bot.services.validation import clean_text
from bot.services.workspaces import SYSTEM_ACTOR
from storage.models import Digest, Workspace
from storage.models.digest import DEFAULT_CRON

DEFAULT_NAME = "default"


def ensure_default_digests(session: Session, settings: Settings) -> None:
    """Every workspace gets a `default` digest to DIGEST_CHANNEL (Monday 09:00 in DEFAULT_TIMEZONE)."""
    if not settings.digest_channel:
        return
    team_ids = session.exec(select(Workspace.team_id)).all()
    existing = {d.team_id: d for d in session.exec(select(Digest).where(Digest.name == DEFAULT_NAME))}
    for team_id in team_ids:
        digest = existing.get(team_id)
        if digest is not None:
            if digest.channel_id != settings.digest_channel:  # DIGEST_CHANNEL changed: follow it
                digest.channel_id = settings.digest_channel
                session.add(digest)
            continue
        try:
            with session.begin_nested():  # another replica may create it at the same moment
                session.add(Digest(team_id=team_id, name=DEFAULT_NAME, channel_id=settings.digest_channel,
                                   timezone=settings.default_timezone, created_by=SYSTEM_ACTOR))
                session.flush()
        except IntegrityError:
            continue
    session.flush()


def add_digest(session: Session, *, actor: Actor, name: str, channel_id: str, cron: str = DEFAULT_CRON,
               timezone: str, tag: str | None = None, business_unit: str | None = None) -> Digest:
    """An admin adds a digest with its own channel, filter and schedule."""
    require_admin(actor, doing="add a digest")
    name = clean_text(name, field="digest name", limit=64).lower()
    if not name:
        raise InvalidInput("Give the digest a name, for example `claims`.")
    if tag and business_unit:
        raise InvalidInput("Filter a digest by a tag or by a team, not both.")
    if not channel_id or channel_id[0] not in "CGD":
        raise InvalidInput("Name the channel by its ID, for example C012AB3CD.")
    cron_trigger(cron, zone_named(timezone))
    if session.exec(select(Digest).where(Digest.team_id == actor.team_id, Digest.name == name)).first():
        raise Conflict(f"There is already a digest named {name}.")
    digest = Digest(team_id=actor.team_id, name=name, channel_id=channel_id, cron=cron, timezone=timezone,
                    filter_tag=(tag or "").strip().lower() or None,
                    filter_business_unit=(business_unit or "").strip() or None, created_by=actor.user_id)
    session.add(digest)
    session.flush()
    record_audit(session, team_id=actor.team_id, actor=actor.user_id, action="digest.added",
                 subject_type="digest", subject_key=name,
                 after={"channel": channel_id, "cron": cron, "timezone": timezone, "tag": digest.filter_tag,
                        "business_unit": digest.filter_business_unit})
    return digest


def get_digest(session: Session, *, team_id: str, name: str = DEFAULT_NAME) -> Digest:
    digest = session.exec(select(Digest).where(Digest.team_id == team_id, Digest.name == name)).first()
    if digest is None:
        raise NotFound(f"There is no digest named {name}. Set DIGEST_CHANNEL for the default one, "
                       f"or add one with `initiative-bot digest-add`.")
    return digest


def enabled_digests(session: Session) -> list[Digest]:
    return list(session.exec(select(Digest).where(col(Digest.enabled)).order_by(col(Digest.id))))


def preview_digest(team_id: str, settings: Settings) -> Digest:
    """An unsaved default digest, for previews in a workspace that has none yet."""
    return Digest(team_id=team_id, name=DEFAULT_NAME, channel_id=settings.digest_channel or "",
                  timezone=settings.default_timezone, created_by=SYSTEM_ACTOR)
