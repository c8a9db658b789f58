"""The core `/initiative` subcommands about initiatives: new, list, find, show, owners, pause, resume, retire,
history. Each: parse -> one service call in one transaction -> render a private reply."""

from __future__ import annotations

from collections.abc import Callable

from bot.commands.grammar import parse_find, parse_key_command, parse_list, parse_new, parse_on_off, parse_owners
from bot.commands.registry import Arguments, CommandContext, Reply, Subcommand
from bot.listeners.people import require_people_who_can_act
from bot.presenters import initiative_card
from bot.services.access import service as people
from bot.services.access.service import Audience
from bot.services.gates.service import catalog_for
from bot.services.initiatives import service as initiatives
from bot.services.outcomes import service as outcomes
from bot.services.reviews import service as reviews
from bot.services.validation import RISK_TIERS
from bot.views import modals, replies
from bot.views.regulation import recorded
from bot.views.search import search_results
from bot.views.text import mrkdwn
from storage.types import utcnow


def new(ctx: CommandContext, args: Arguments) -> Reply | None:
    command = parse_new(args)
    if command.title is None:
        with ctx.runtime.read() as session:
            catalog = catalog_for(session, team_id=ctx.actor.team_id)
        view = modals.new_initiative(catalog, risk_tiers=RISK_TIERS, channel_id=ctx.channel_id)
        ctx.client.views_open(trigger_id=ctx.trigger_id, view=view)
        return None
    names = require_people_who_can_act(ctx.client, command.owners.values(), ctx.runtime.settings)
    # Answered by response_url, on no 3-second clock (only the modal's trigger_id is on one): a burst of
    # creations waits for the write lock rather than fail.
    with ctx.runtime.with_lock_wait(None).transaction() as session:
        people.remember_names(session, team_id=ctx.actor.team_id, names=names, now=utcnow())
        created = initiatives.create_initiative(
            session, actor=ctx.actor, title=command.title, owners=command.owners,
            risk_tier=command.risk_tier or "medium", confidential=command.confidential,
        )
        key, title = created.key, created.title
    text, blocks = recorded(key, f"Recorded *{key}* {mrkdwn(title, 150)}. Next: `/initiative submit {key}` when "
                                 f"its owners are set, or `/initiative show {key}`.")
    return Reply(text=text, blocks=blocks)


NEW = Subcommand("new", new, opens_modal=True, usage=(
    "/initiative new                      -> opens the New initiative modal",
    "/initiative new <title> [business=@u] [data=@u] [eng=@u] [risk=low|medium|high]   -> creates at once",
    "/initiative new <title> sponsor=@you confidential=yes   -> only its owners, their delegates and admins see it",
))


def confidential(ctx: CommandContext, args: Arguments) -> Reply:
    command = parse_key_command(args, text="required")
    hidden = parse_on_off(command.text, what="`confidential AI-12`")
    with ctx.runtime.transaction() as session:
        initiative = initiatives.get_initiative(session, audience=Audience.of(ctx.actor), key=command.key,
                                                for_update=True)
        changed = initiatives.set_confidential(session, actor=ctx.actor, initiative=initiative, confidential=hidden)
        key = initiative.key
    now = "confidential: only its owners, their delegates and admins see it" if hidden else \
        "visible to everyone in the workspace"
    return replies.done(f"*{key}* is {'now ' if changed else 'already '}{now}.")


CONFIDENTIAL = Subcommand("confidential", confidential, usage=(
    "/initiative confidential <KEY> yes|no   -> the sponsor or an admin hides it from all but its owners",
))


def list_(ctx: CommandContext, args: Arguments) -> Reply:
    scope = parse_list(args).scope
    team_id, reader = ctx.actor.team_id, Audience.of(ctx.actor)
    with ctx.runtime.read() as session:
        catalog = catalog_for(session, team_id=team_id)
        query: dict[str, object] = {}
        label = "in progress"
        if scope == "stalled":
            stalled = initiatives.stalled_initiatives(session, audience=reader, now=utcnow())
            return replies.initiative_list(stalled, total=len(stalled), catalog=catalog,
                                           scope_label="stalled (longer in their stage than its threshold)")
        if scope == "mine":
            query, label = {"owner": ctx.actor.user_id}, "you own or recorded"
        elif scope == "all":
            query, label = {"statuses": ALL_STATUSES}, "(all, killed and retired too)"
        elif scope is not None:
            query, label = {"stage": catalog.stage(scope).id}, f"in {catalog.stage(scope).name}"
        found = initiatives.list_initiatives(session, audience=reader, limit=replies.LIST_LIMIT, **query)
        total = initiatives.count_initiatives(session, audience=reader, **query)
        return replies.initiative_list(found, total=total, scope_label=label, catalog=catalog)


LIST = Subcommand("list", list_, usage=("/initiative list [<stage>|mine|all|stalled]",))


ALL_STATUSES = ("active", "paused", "held", "retired", "killed")
FIND_LIMIT = 20


def find(ctx: CommandContext, args: Arguments) -> Reply:
    command = parse_find(args)
    terms = initiatives.search_terms(command.words, owners=command.owners)
    with ctx.runtime.read() as session:
        found = initiatives.search_initiatives(session, audience=Audience.of(ctx.actor), terms=terms, limit=FIND_LIMIT)
        catalog = catalog_for(session, team_id=ctx.actor.team_id)
        return search_results(found.hits, total=found.total, catalog=catalog,
                              asked=" ".join(token.text for token in args.tokens))


FIND = Subcommand("find", find, usage=(
    "/initiative find <words> [@owner]   -> initiatives whose title, tags, owners or description match, best first",
))


def show(ctx: CommandContext, args: Arguments) -> Reply:
    key = parse_key_command(args).key
    with ctx.runtime.read() as session:
        initiative = initiatives.get_initiative(session, audience=Audience.of(ctx.actor), key=key)
        return initiative_card(session, initiative, default_zone=ctx.runtime.settings.default_zone,
                               reader=ctx.actor.user_id)


SHOW = Subcommand("show", show, usage=("/initiative show <KEY>",))


def owners(ctx: CommandContext, args: Arguments) -> Reply:
    command = parse_owners(args)
    names = require_people_who_can_act(ctx.client, command.owners.values(), ctx.runtime.settings)
    with ctx.runtime.transaction() as session:
        people.remember_names(session, team_id=ctx.actor.team_id, names=names, now=utcnow())
        initiative = initiatives.get_initiative(session, audience=Audience.of(ctx.actor), key=command.key,
                                                for_update=True)
        changed = initiatives.assign_owners(session, actor=ctx.actor, initiative=initiative, owners=command.owners)
        return replies.owners_reply(initiative, initiatives.owners_of(session, initiative_id=initiative.id),
                                    catalog_for(session, team_id=initiative.team_id), changed=changed is not None)


OWNERS = Subcommand("owners", owners, usage=(
    "/initiative owners <KEY> [business=@u] [data=@u] [eng=@u] [compliance=@u] [sponsor=@u]",
))


PAUSE_RESUME_HELP = ("/initiative pause|resume <KEY> [reason]   -> an owner's short stop; resume also ends a hold",)


def pause(ctx: CommandContext, args: Arguments) -> Reply:
    return _change_status(ctx, args, reviews.pause, "paused", reason="optional")


PAUSE = Subcommand("pause", pause, usage=("/initiative pause <KEY> [reason]",), help_lines=PAUSE_RESUME_HELP)


def resume(ctx: CommandContext, args: Arguments) -> Reply:
    return _change_status(ctx, args, outcomes.resume, "active again", reason="optional")


RESUME = Subcommand("resume", resume, usage=("/initiative resume <KEY> [reason]   -> ends a pause or a hold",),
                    help_lines=())


def retire(ctx: CommandContext, args: Arguments) -> Reply:
    return _change_status(ctx, args, reviews.retire, "retired", reason="required")


RETIRE = Subcommand("retire", retire, usage=(
    "/initiative retire <KEY> <reason>   -> admins: for merges and duplicates (to stop one, kill it)",
))


def history(ctx: CommandContext, args: Arguments) -> Reply:
    key = parse_key_command(args).key
    with ctx.runtime.read() as session:
        initiative = initiatives.get_initiative(session, audience=Audience.of(ctx.actor), key=key)
        return replies.history_reply(initiative, initiatives.history(session, initiative=initiative),
                                     catalog_for(session, team_id=initiative.team_id))


HISTORY = Subcommand("history", history, usage=("/initiative history <KEY>",))


def _change_status(ctx: CommandContext, args: Arguments, change: Callable[..., object], outcome: str, *,
                   reason: str) -> Reply:
    command = parse_key_command(args, text=reason)
    with ctx.runtime.transaction() as session:
        initiative = initiatives.get_initiative(session, audience=Audience.of(ctx.actor), key=command.key,
                                                for_update=True)
        change(session, actor=ctx.actor, initiative=initiative, reason=command.text)
        key = initiative.key
    return replies.done(f"*{key}* is {outcome}." + (f" Reason: {mrkdwn(command.text, 500)}" if command.text else ""))

