"""`/initiative digest [name]`: a private text preview of this week's digest, as it stands right now;
`/initiative digest list|add|edit|enable|disable …`: the digests, which admins add and change."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session

from bot.commands.grammar import DigestCommand, parse_digest
from bot.commands.registry import Arguments, CommandContext, Reply, Subcommand
from bot.integrations.slack_channels import ChannelRefused, SlackChannels
from bot.services.access.service import Audience, require_admin, zone_for
from bot.services.audit.service import current_names
from bot.services.digest.service import (
    DEFAULT_NAME,
    add_digest,
    compute_digest,
    digest_statuses,
    edit_digest,
    ensure_default_digests,
    get_digest,
    preview_digest,
    set_digest_enabled,
    status_of,
)
from bot.services.errors import InvalidInput, NotFound
from bot.services.gates.service import ensure_workspace
from bot.views.digest import digest_in_full, preview_text
from bot.views.digest_admin import digests_text, saved_text
from bot.views.plain_text import Reader, mentioned
from storage.models.digest import DEFAULT_CRON, Digest
from storage.types import utcnow

USAGE = (
    "/initiative digest [<name>]              -> a private preview of this week's digest",
    "/initiative digest list                  -> the digests: channel, filter, schedule, next post",
    '/initiative digest add <name> #channel [cron="0 9 * * 1"] [tz=Europe/Berlin] [tag=… | unit=…]'
    "  -> add a digest (admins)",
    '/initiative digest edit <name> [#channel] [cron="…"] [tz=…] [tag=… | unit=… | filter=none]'
    "  -> change it (admins)",
    "/initiative digest disable|enable <name>  -> stop or resume a digest (admins)",
)
VERBS = {"add": "added", "edit": "changed", "enable": "enabled", "disable": "disabled"}


def digest_command(ctx: CommandContext, args: Arguments) -> Reply:
    command = parse_digest(args)
    if command.action == "preview":
        return _preview(ctx, command.name or DEFAULT_NAME)
    if command.channel_id is not None:  # found and checked in Slack before the transaction, which stores its ID
        command = replace(command, channel_id=_checked_channel(ctx, command.channel_id, command.action))
    now = utcnow()
    with ctx.runtime.transaction() as session:
        ensure_workspace(session, team_id=ctx.actor.team_id)
        ensure_default_digests(session, ctx.runtime.settings)  # so that `default` can be listed and edited
        if command.action == "list":
            return Reply(text=digests_text(digest_statuses(session, team_id=ctx.actor.team_id, now=now), slack=True))
        digest = _change(ctx, session, command)
        return Reply(text=saved_text(VERBS[command.action], status_of(session, digest, now), slack=True))


DIGEST = Subcommand("digest", digest_command, usage=USAGE)


def _checked_channel(ctx: CommandContext, typed: str, action: str) -> str:
    """The ID of the channel typed (`#name`, a channel link or an ID), once Slack shows it exists and has the bot
    in it. Admins only: the answer tells whether a private channel has the bot in it."""
    require_admin(ctx.actor, doing="add a digest" if action == "add" else "change a digest")
    try:
        return SlackChannels(ctx.client).find(typed).id
    except ChannelRefused as refused:
        raise InvalidInput(str(refused), field="channel_id") from None


def _change(ctx: CommandContext, session: Session, command: DigestCommand) -> Digest:
    assert command.name is not None
    options = command.options
    if command.action == "add":
        return add_digest(session, actor=ctx.actor, name=command.name, channel_id=command.channel_id or "",
                          cron=options.get("cron", DEFAULT_CRON),
                          timezone=options.get("timezone", ctx.runtime.settings.default_timezone),
                          tag=options.get("tag"), business_unit=options.get("business_unit"))
    if command.action == "edit":
        return edit_digest(session, actor=ctx.actor, name=command.name, channel_id=command.channel_id,
                           cron=options.get("cron"), timezone=options.get("timezone"), tag=options.get("tag"),
                           business_unit=options.get("business_unit"), no_filter="filter" in options)
    return set_digest_enabled(session, actor=ctx.actor, name=command.name, enabled=command.action == "enable")


def _preview(ctx: CommandContext, name: str) -> Reply:
    team_id = ctx.actor.team_id
    with ctx.runtime.transaction() as session:
        ensure_workspace(session, team_id=team_id)
        try:
            digest = get_digest(session, team_id=team_id, name=name)
        except NotFound:
            if name != DEFAULT_NAME:
                raise
            digest = preview_digest(team_id, ctx.runtime.settings)  # before the scheduler first created it
        # Private: what the person asking may see, with times in their zone and people by the names the bot
        # knows (a mention in a code block would show its raw ID).
        now, default_zone = utcnow(), ctx.runtime.settings.default_zone
        report = compute_digest(session, digest=digest, as_of=now, audience=Audience.of(ctx.actor),
                                default_zone=default_zone)
        blocks = digest_in_full(report)
        people, _ = mentioned(blocks)
        reader = Reader(zone=zone_for(session, team_id=team_id, user_id=ctx.actor.user_id, default=default_zone),
                        people=current_names(session, team_id=team_id, user_ids=people), now=now)
    return Reply(text=preview_text(blocks, reader))
