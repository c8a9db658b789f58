"""`/initiative condition met|cancel|reassign <ID> …` and `/initiative conditions [KEY|mine]`: a Conditional Go's
conditions (and expired waivers), closed, cancelled, given to someone else and listed."""

from __future__ import annotations

from bot.commands.grammar import parse_condition
from bot.commands.registry import Arguments, CommandContext, Reply, Subcommand, UsageError
from bot.integrations.targets import evidence_policy
from bot.listeners.people import require_people_who_can_act
from bot.presenters import condition_views
from bot.services.access.service import Audience, zone_for
from bot.services.business_days import local_date
from bot.services.initiatives import service as initiatives
from bot.services.reviews.service import check_evidence_links
from bot.services.tracked_items import service as tracked_items
from bot.services.validation import parse_date
from bot.services.waivers import service as waivers
from bot.views import conditions as views
from bot.views import replies
from storage.types import utcnow


def condition(ctx: CommandContext, args: Arguments) -> Reply:
    command = parse_condition(args)
    tracked_items.parse_item_key(command.key)  # a bad id is refused before any lookup
    # Links are vetted (their hosts resolved, up to 2 s) before the transaction, never under its locks.
    links = check_evidence_links(command.links, policy=evidence_policy(ctx.runtime.settings)) if command.links else []
    if command.person is not None:  # reassign: to someone who can act, asked of Slack outside the transaction
        require_people_who_can_act(ctx.client, [command.person], ctx.runtime.settings)
    with ctx.runtime.transaction() as session:
        initiative, item = tracked_items.find_item(session, audience=Audience.of(ctx.actor), key=command.key,
                                                   for_update=True)
        key = tracked_items.key_of(initiative, item)
        if command.action == "met":
            tracked_items.meet(session, actor=ctx.actor, initiative=initiative, item=item, evidence=command.text,
                               links=links)
            return replies.done(views.met_text(key, item))
        if command.action == "cancel":
            tracked_items.cancel(session, actor=ctx.actor, initiative=initiative, item=item, reason=command.text)
            return replies.done(views.cancelled_text(key, item))
        if command.action == "waive":
            zone = zone_for(session, team_id=ctx.actor.team_id, user_id=ctx.actor.user_id,
                            default=ctx.runtime.settings.default_zone)
            now = utcnow()
            waiver = waivers.waive_again(session, actor=ctx.actor, initiative=initiative, item=item,
                                         until=parse_date(command.until or "", field="until"), reason=command.text,
                                         today=local_date(now, zone), now=now)
            return replies.done(views.waived_again_text(key, waiver.expires_on))
        assert command.person is not None
        tracked_items.reassign(session, actor=ctx.actor, initiative=initiative, item=item, owner=command.person,
                               reason=command.text)
        return replies.done(views.reassigned_text(key, item))


CONDITION = Subcommand("condition", condition, usage=(
    "/initiative condition met <ID> <evidence or link>   -> its owner, the sponsor or an admin: closes a condition",
    "/initiative condition cancel <ID> <reason>          -> the sponsor or an admin: cancels it",
    "/initiative condition reassign <ID> @person <reason> -> the sponsor or an admin: gives it to someone else",
    "/initiative condition waive <ID> until YYYY-MM-DD <reason> -> an expired waiver (AI-7-W1), waived again",
))


def list_conditions(ctx: CommandContext, args: Arguments) -> Reply:
    if len(args.tokens) > 1:
        raise UsageError("`conditions` takes one word: an initiative's key, or `mine`.")
    scope = args.tokens[0].text.strip() if args else ""
    reader = Audience.of(ctx.actor)
    with ctx.runtime.read() as session:
        if scope.lower() == "mine":
            rows, total = tracked_items.list_items(session, audience=reader, owner=ctx.actor.user_id)
            label = "waiting on you"
        elif scope:
            initiative = initiatives.get_initiative(session, audience=reader, key=scope)
            rows, total = tracked_items.list_items(session, audience=reader, initiative_id=initiative.id,
                                                   open_only=False)
            label = f"of {initiative.key}"
        else:
            rows, total = tracked_items.list_items(session, audience=reader)
            label = "open"
        zone = zone_for(session, team_id=ctx.actor.team_id, user_id=ctx.actor.user_id,
                        default=ctx.runtime.settings.default_zone)
        shown = condition_views(session, rows, default_zone=ctx.runtime.settings.default_zone)
    return views.conditions_reply(shown, total=total, scope_label=label, reader_zone=zone)


CONDITIONS = Subcommand("conditions", list_conditions, usage=(
    "/initiative conditions [KEY|mine]   -> open conditions (all, yours), or every condition of one initiative",
))
