"""Digest definitions: the default one from DIGEST_CHANNEL, and further ones admins add, edit, disable and
enable (the same functions serve `/initiative digest …` and the CLI; every change is audited)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.delivery.installation import installed
from bot.services.access.service import Actor, require_admin
from bot.services.audit.service import record_audit
from bot.services.digest.schedule import DAYS_IN_WEEK, iso_week, scheduled_in_week, week_start, weekly_cron, zone_named
from bot.services.errors import Conflict, InvalidInput, NotFound
from bot.services.gates.service import SYSTEM_ACTOR
from bot.services.validation import TextField, check_channel_id, clean_text
from storage.models import Digest, DigestRun, Workspace
from storage.models.digest import DEFAULT_CRON

DEFAULT_NAME = "default"
# `/initiative digest <name>` previews a digest, so these words cannot be names.
RESERVED_NAMES = ("list", "add", "edit", "enable", "disable")
FILTER_MAX = 100
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DIGEST_NAME = TextField("name", "digest name", 64)


@dataclass(frozen=True)
class DigestStatus:
    """A digest and when it posts next (None when disabled). `due`: this week's time has come and the week has
    no post yet, so the next scheduler tick posts it, as of `next_post`. `failed`: why Slack refused this week's
    post, which is tried again at `next_post`."""

    digest: Digest
    next_post: datetime | None
    due: bool = False
    failed: str | None = None


def ensure_default_digests(session: Session, settings: Settings) -> None:
    """Every workspace gets a `default` digest to DIGEST_CHANNEL (Monday 09:00 in DEFAULT_TIMEZONE)."""
    if not settings.digest_channel:
        return
    # A process resolves DIGEST_CHANNEL=#name to its ID when it starts (bot.integrations.slack_channels); only an
    # ID is ever stored.
    channel_id = check_channel_id(settings.digest_channel, field="digest_channel")
    team_ids = session.exec(select(Workspace.team_id)).all()
    existing = {d.team_id: d for d in session.exec(select(Digest).where(Digest.name == DEFAULT_NAME))}
    for team_id in team_ids:
        digest = existing.get(team_id)
        if digest is not None:
            if digest.channel_id != channel_id:  # DIGEST_CHANNEL changed: follow it
                digest.channel_id = channel_id
                session.add(digest)
            continue
        try:
            with session.begin_nested():  # another replica may create it at the same moment
                session.add(Digest(team_id=team_id, name=DEFAULT_NAME, channel_id=channel_id,
                                   timezone=settings.default_timezone, created_by=SYSTEM_ACTOR))
                session.flush()
        except IntegrityError:
            continue
    session.flush()


def add_digest(session: Session, *, actor: Actor, name: str, channel_id: str, cron: str = DEFAULT_CRON,
               timezone: str, tag: str | None = None, business_unit: str | None = None) -> Digest:
    """An admin adds a digest with its own channel, filter and schedule."""
    require_admin(actor, doing="add a digest")
    name = _check_name(name)
    channel_id = check_channel_id(channel_id)
    cron = weekly_cron(cron, zone_named(timezone))
    tag, business_unit = _check_filter(tag, business_unit)
    if _find(session, actor.team_id, name) is not None:
        raise _taken(name)
    digest = Digest(team_id=actor.team_id, name=name, channel_id=channel_id, cron=cron, timezone=timezone,
                    filter_tag=tag, filter_business_unit=business_unit, created_by=actor.user_id)
    try:
        with session.begin_nested():  # another admin may add the same name at the same moment
            session.add(digest)
            session.flush()
    except IntegrityError:
        raise _taken(name) from None
    record_audit(session, team_id=actor.team_id, actor=actor.user_id, action="digest.added",
                 subject_type="digest", subject_key=name, after=_settings(digest))
    return digest


def edit_digest(session: Session, *, actor: Actor, name: str, channel_id: str | None = None,
                cron: str | None = None, timezone: str | None = None, tag: str | None = None,
                business_unit: str | None = None, no_filter: bool = False) -> Digest:
    """An admin changes a digest's channel, schedule or filter; what is not given stays. A tag replaces a
    business-unit filter and the other way round; `no_filter` makes it cover every initiative."""
    require_admin(actor, doing="change a digest")
    digest = _locked(session, actor.team_id, name)
    if channel_id is None and cron is None and timezone is None and tag is None and business_unit is None \
            and not no_filter:
        raise InvalidInput(f"Say what to change about digest {digest.name}: its channel, cron, zone or filter.")
    if no_filter and (tag or business_unit):
        raise InvalidInput("Give a tag, a team, or no filter; not several.")
    new_channel = digest.channel_id if channel_id is None else check_channel_id(channel_id)
    if digest.name == DEFAULT_NAME and new_channel != digest.channel_id:
        raise InvalidInput("The default digest posts to DIGEST_CHANNEL; change that setting to move it, "
                           "or add another digest for that channel.")
    new_zone = digest.timezone if timezone is None else timezone
    # Checked together: the cron (old or new) is evaluated in the zone (old or new).
    new_cron = weekly_cron(digest.cron if cron is None else cron, zone_named(new_zone))
    new_tag, new_unit = digest.filter_tag, digest.filter_business_unit
    if no_filter or tag is not None or business_unit is not None:
        new_tag, new_unit = _check_filter(tag, business_unit)
    before = _settings(digest)
    digest.channel_id, digest.timezone, digest.cron = new_channel, new_zone, new_cron
    digest.filter_tag, digest.filter_business_unit = new_tag, new_unit
    after = _settings(digest)
    changed = [key for key in after if after[key] != before[key]]
    if not changed:
        raise InvalidInput(f"Digest {digest.name} already has those settings; nothing changed.")
    session.add(digest)
    session.flush()
    record_audit(session, team_id=actor.team_id, actor=actor.user_id, action="digest.edited",
                 subject_type="digest", subject_key=digest.name,
                 before={key: before[key] for key in changed}, after={key: after[key] for key in changed})
    return digest


def set_digest_enabled(session: Session, *, actor: Actor, name: str, enabled: bool) -> Digest:
    """Disable a digest (it stops posting; a post already queued still goes out) or enable it again."""
    require_admin(actor, doing=f"{'enable' if enabled else 'disable'} a digest")
    digest = _locked(session, actor.team_id, name)
    if digest.enabled == enabled:
        raise Conflict(f"Digest {digest.name} is already {'enabled' if enabled else 'disabled'}.")
    digest.enabled = enabled
    session.add(digest)
    session.flush()
    record_audit(session, team_id=actor.team_id, actor=actor.user_id,
                 action="digest.enabled" if enabled else "digest.disabled", subject_type="digest",
                 subject_key=digest.name, before={"enabled": not enabled}, after={"enabled": enabled})
    return digest


def digest_statuses(session: Session, *, team_id: str, now: datetime) -> list[DigestStatus]:
    """Every digest of the workspace, by name, with its next post."""
    digests = session.exec(select(Digest).where(Digest.team_id == team_id).order_by(col(Digest.name)))
    return [status_of(session, digest, now) for digest in digests]


def status_of(session: Session, digest: Digest, now: datetime) -> DigestStatus:
    if not digest.enabled:
        return DigestStatus(digest=digest, next_post=None)
    zone = zone_named(digest.timezone)
    this_week = scheduled_in_week(digest.cron, zone, now)
    run = run_in_week(session, digest, now)
    if run is not None and run.state == "failed" and run.retry_at is not None:
        return DigestStatus(digest=digest, next_post=run.retry_at, failed=run.last_error or "refused")
    if this_week is not None and run is None:
        return DigestStatus(digest=digest, next_post=this_week, due=this_week <= now)
    next_week = week_start(now, zone) + timedelta(days=DAYS_IN_WEEK)
    return DigestStatus(digest=digest, next_post=scheduled_in_week(digest.cron, zone, next_week))


def run_in_week(session: Session, digest: Digest, moment: datetime) -> DigestRun | None:
    """The digest's run for the ISO week, in its zone, that holds `moment`: one labelled with that week, or one
    whose as_of falls in it. The second catches a run labelled under a zone the digest had before (a zone change
    moves week boundaries by up to a day), so a zone change can never give a week two posts."""
    zone = zone_named(digest.timezone)
    start = week_start(moment, zone)
    end = start + timedelta(days=DAYS_IN_WEEK)  # wall-clock arithmetic: Monday 00:00 local a week later
    return session.exec(select(DigestRun).where(
        DigestRun.digest_id == digest.id,
        or_(col(DigestRun.week) == iso_week(moment, zone),
            and_(col(DigestRun.as_of) >= start, col(DigestRun.as_of) < end)))
        .order_by(col(DigestRun.id))).first()


def _check_name(name: str) -> str:
    name = clean_text(name, DIGEST_NAME).lower()
    if not _NAME.match(name):
        raise InvalidInput(f"'{name[:40]}' cannot name a digest; use one word of letters, digits, - or _, "
                           f"like `claims`.")
    if name in RESERVED_NAMES:
        raise InvalidInput(f"'{name}' is a command word; name the digest something else, like `claims`.")
    return name


def _check_filter(tag: str | None, business_unit: str | None) -> tuple[str | None, str | None]:
    tag = clean_text(tag, TextField("tag", "tag", FILTER_MAX)).lower() or None
    business_unit = clean_text(business_unit, TextField("business_unit", "team", FILTER_MAX)) or None
    if tag and business_unit:
        raise InvalidInput("Filter a digest by a tag or by a team, not both.")
    return tag, business_unit


def _taken(name: str) -> InvalidInput:
    return InvalidInput(f"There is already a digest named {name}; pick another name, or change that one with "
                        f"`digest edit {name}`.")


def _settings(digest: Digest) -> dict[str, Any]:
    return {"channel": digest.channel_id, "cron": digest.cron, "timezone": digest.timezone,
            "tag": digest.filter_tag, "business_unit": digest.filter_business_unit}


def _named(team_id: str, name: str) -> Any:
    return select(Digest).where(Digest.team_id == team_id, Digest.name == name.lower())


def _find(session: Session, team_id: str, name: str) -> Digest | None:
    return session.exec(_named(team_id, name)).first()


def _locked(session: Session, team_id: str, name: str) -> Digest:
    """The digest, locked until commit: edits, and a run starting, take their turns (see digest/scheduled.start_run)."""
    digest = session.exec(_named(team_id, name).with_for_update()).first()
    if digest is None:
        raise _not_found(name)
    return digest


def get_digest(session: Session, *, team_id: str, name: str = DEFAULT_NAME) -> Digest:
    digest = _find(session, team_id, name)
    if digest is None:
        raise _not_found(name)
    return digest


def _not_found(name: str) -> NotFound:
    return NotFound(f"There is no digest named {name[:64].lower()}. `/initiative digest list` shows them; "
                    f"set DIGEST_CHANNEL for the default one, or an admin adds one with `/initiative digest add`.")


def enabled_digests(session: Session) -> list[Digest]:
    return list(session.exec(select(Digest).where(col(Digest.enabled), installed(Digest.team_id))
                             .order_by(col(Digest.id))))


def preview_digest(team_id: str, settings: Settings) -> Digest:
    """An unsaved default digest, for previews in a workspace that has none yet."""
    return Digest(team_id=team_id, name=DEFAULT_NAME, channel_id=settings.digest_channel or "",
                  timezone=settings.default_timezone, created_by=SYSTEM_ACTOR)
