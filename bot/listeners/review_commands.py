"""`/initiative submit|approve|reject`: open a review, open the checklist modal, request changes at once."""

from __future__ import annotations

from sqlmodel import Session

from bot.commands.grammar import parse_key_command
from bot.commands.registry import Arguments, CommandContext, Reply, Subcommand
from bot.presenters import sign_off_card
from bot.services.access.service import Actor, Audience
from bot.services.errors import Conflict
from bot.services.gates.service import catalog_for
from bot.services.initiatives import service as initiatives
from bot.services.reviews import service as reviews
from bot.views import modals, replies
from bot.views.text import escape, mention, mrkdwn


def submit(ctx: CommandContext, args: Arguments) -> Reply:
    key = parse_key_command(args).key
    with ctx.runtime.transaction() as session:
        initiative = initiatives.get_initiative(session, audience=Audience.of(ctx.actor), key=key, for_update=True)
        review = reviews.submit_for_next_gate(session, actor=ctx.actor, initiative=initiative)
        catalog = catalog_for(session, team_id=initiative.team_id, version=review.definition_version)
        asked = ", ".join(f"{mention(s.assignee)} ({escape(catalog.role_name(s.role))})"
                          for s in reviews.sign_offs_of(session, review_id=review.id))
        gate = reviews.gate_of(session, review).name
        key = initiative.key
    return replies.done(f"Review of *{key}* for *{escape(gate)}* opened. Asked {asked} to sign off; "
                        "each gets a DM with their checklist.")


SUBMIT = Subcommand("submit", submit, usage=(
    "/initiative submit <KEY>             -> opens the review of the next gate",
))


def approve(ctx: CommandContext, args: Arguments) -> None:
    command = parse_key_command(args, text="optional")
    with ctx.runtime.read() as session:
        pending = my_pending_sign_off(session, actor=ctx.actor, key=command.key)
        card = sign_off_card(session, pending.sign_off, default_zone=ctx.runtime.settings.default_zone)
    ctx.client.views_open(trigger_id=ctx.trigger_id, view=modals.checklist(card, comment=command.text))


APPROVE = Subcommand("approve", approve, opens_modal=True, usage=(
    "/initiative approve <KEY> [comment]  -> opens the checklist modal for the caller's pending sign-off(s)",
))


def reject(ctx: CommandContext, args: Arguments) -> Reply:
    command = parse_key_command(args, text="required")
    with ctx.runtime.transaction() as session:
        pending = my_pending_sign_off(session, actor=ctx.actor, key=command.key)
        decision = reviews.request_changes(session, actor=ctx.actor, sign_off_id=pending.sign_off.id,
                                           reason=command.text)
        key = decision.initiative.key
    return replies.done(f"Changes requested on *{key}*: {mrkdwn(command.text, 500)}. The review is closed and "
                        "its owners have been told.")


REJECT = Subcommand("reject", reject, usage=(
    "/initiative reject <KEY> <reason>    -> requests changes on the open review at once",
))


def my_pending_sign_off(session: Session, *, actor: Actor, key: str) -> reviews.PendingSignOff:
    """The caller's oldest pending sign-off on the initiative `key`."""
    initiative = initiatives.get_initiative(session, audience=Audience.of(actor), key=key)
    mine = [p for p in reviews.pending_sign_offs_for(session, team_id=actor.team_id, user_id=actor.user_id)
            if p.initiative.id == initiative.id]
    if not mine:
        raise Conflict(f"No sign-off of yours is waiting on {initiative.key}; `/initiative show {initiative.key}` "
                       "shows who it waits for.")
    return mine[0]
