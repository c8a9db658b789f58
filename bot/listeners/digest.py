"""`/initiative digest [name]`: a private text preview of this week's digest, as it stands right now."""

from __future__ import annotations

from bot.commands.registry import Arguments, CommandContext, Reply, subcommand
from bot.services.digest import compute_digest
from bot.services.digest.definitions import DEFAULT_NAME, get_digest, preview_digest
from bot.services.errors import NotFound
from bot.services.workspaces import ensure_workspace
from bot.views.digest import preview_text
from storage.types import utcnow


@subcommand("digest", usage=("/initiative digest [<name>]          -> a private preview of this week's digest",),
            order=200)
def digest_preview(ctx: CommandContext, args: Arguments) -> Reply:
    name = args.tokens[0].text.lower() if args else DEFAULT_NAME
    team_id = ctx.actor.team_id
    with ctx.runtime.transaction() as session:
        ensure_workspace(session, team_id=team_id)
        try:
            digest = get_digest(session, team_id=team_id, name=name)
        except NotFound:
            if name != DEFAULT_NAME:
                raise
            digest = preview_digest(team_id, ctx.runtime.settings)  # before the scheduler first created it
        report = compute_digest(session, digest=digest, as_of=utcnow())
    return Reply(text=preview_text(report))
