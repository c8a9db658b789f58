"""`/initiative hold|recycle|kill`, the buttons of a hold's revisit prompt (Resume, Extend hold, Kill), and the
Kill and Extend hold modals. Nothing changes until a command runs or a modal is submitted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.commands.grammar import parse_hold, parse_key_command, parse_recycle
from bot.commands.registry import Arguments, CommandContext, Reply, Subcommand
from bot.listeners.middleware import RequestActor
from bot.listeners.surfaces import clicked_in_message, show_view, tell, today_of
from bot.runtime import Runtime
from bot.services.access.service import Actor, Audience
from bot.services.errors import Conflict, DomainError, InvalidInput
from bot.services.gates.service import catalog_for
from bot.services.initiatives import service as initiatives
from bot.services.outcomes import service as outcomes
from bot.views import forms, ids, modals, replies
from bot.views import outcomes as views
from bot.views.replies import stage_name
from storage.models import Initiative


def hold(ctx: CommandContext, args: Arguments) -> Reply:
    command = parse_hold(args)
    until = outcomes.parse_revisit_date(command.until)
    with ctx.runtime.transaction() as session:
        initiative = _initiative(session, ctx.actor, command.key, for_update=True)
        outcome = outcomes.hold(session, actor=ctx.actor, initiative=initiative, until=until, reason=command.reason,
                                today=today_of(session, ctx.runtime, ctx.actor))
        return replies.done(views.held_reply(initiative, outcome))


HOLD = Subcommand("hold", hold, usage=(
    "/initiative hold <KEY> until YYYY-MM-DD <reason>   -> sponsor/admins: on hold; the sponsor is asked that day",
))


def recycle(ctx: CommandContext, args: Arguments) -> Reply:
    command = parse_recycle(args)
    with ctx.runtime.transaction() as session:
        initiative = _initiative(session, ctx.actor, command.key, for_update=True)
        outcome = outcomes.recycle(session, actor=ctx.actor, initiative=initiative, to_stage=command.to_stage,
                                   reason=command.reason)
        to_stage = stage_name(catalog_for(session, team_id=initiative.team_id), outcome.to_stage or "")
        return replies.done(views.recycled_reply(initiative, to_stage_name=to_stage))


RECYCLE = Subcommand("recycle", recycle, usage=(
    "/initiative recycle <KEY> to <stage> <what must be redone>   -> back to an earlier stage",
))


def kill(ctx: CommandContext, args: Arguments) -> None:
    command = parse_key_command(args, text="optional")
    with ctx.runtime.read() as session:
        initiative = _initiative(session, ctx.actor, command.key)
        outcomes.check_may_kill(session, actor=ctx.actor, initiative=initiative)
        view = views.kill_modal(initiative, rationale=command.text)
    ctx.client.views_open(trigger_id=ctx.trigger_id, view=view)


KILL = Subcommand("kill", kill, opens_modal=True, usage=(
    "/initiative kill <KEY> [rationale]   -> sponsor/admins: opens the Kill modal (rationale, what we learned)",
))


def register(app: App, runtime: Runtime) -> None:
    @app.action(ids.HOLD_RESUME)
    def on_resume(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, actor: RequestActor) -> None:
        ack()
        try:
            key = ids.decode_initiative_key(body["actions"][0].get("value"))
            with runtime.transaction() as session:
                resolved = actor.in_session(session)
                initiative = _initiative(session, resolved, key, for_update=True)
                outcomes.resume(session, actor=resolved, initiative=initiative)
        except DomainError as error:
            tell(body, client, respond, str(error))
            return
        if clicked_in_message(body):  # the prompt itself: its buttons go, the decision stays in its place
            respond(text=views.resumed_text(key, by=resolved.user_id), replace_original=True)
        else:
            tell(body, client, respond, views.resumed_text(key, by=resolved.user_id))

    @app.action(ids.HOLD_EXTEND)
    def on_extend(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, actor: RequestActor) -> None:
        ack()
        _open_modal(runtime, body, client, respond, actor, _extend_modal)

    @app.action(ids.HOLD_KILL)
    def on_kill(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, actor: RequestActor) -> None:
        ack()
        _open_modal(runtime, body, client, respond, actor, _kill_modal)

    @app.view(ids.KILL_MODAL)
    def on_kill_submitted(ack: Ack, view: dict[str, Any], actor: RequestActor) -> None:
        answers = forms.read_kill(view["state"]["values"])

        def kill_it(session: Session, decider: Actor, initiative: Initiative) -> str:
            outcomes.kill(session, actor=decider, initiative=initiative, rationale=answers.rationale,
                          lessons=answers.lessons)
            return views.killed_text(initiative)

        _submit(runtime, ack, view, actor, kill_it)

    @app.view(ids.EXTEND_HOLD_MODAL)
    def on_extend_submitted(ack: Ack, view: dict[str, Any], actor: RequestActor) -> None:
        values = view["state"]["values"]

        def extend(session: Session, decider: Actor, initiative: Initiative) -> str:
            until = outcomes.parse_revisit_date(forms.read_revisit_date(values))
            held = outcomes.extend_hold(session, actor=decider, initiative=initiative, until=until,
                                        reason=forms.read_reason(values), today=today_of(session, runtime, decider))
            return views.extended_text(initiative, held)

        _submit(runtime, ack, view, actor, extend)


def _extend_modal(session: Session, actor: Actor, initiative: Initiative) -> dict[str, Any]:
    outcomes.require_sponsor_or_admin(session, actor=actor, initiative=initiative, doing="extend its hold")
    held = outcomes.open_hold_of(session, initiative_id=initiative.id)
    if held is None:
        raise Conflict(f"{initiative.key} is {outcomes.describe_status(initiative.status)}, not on hold.")
    return views.extend_hold_modal(initiative, revisit_on=held.revisit_on)


def _kill_modal(session: Session, actor: Actor, initiative: Initiative) -> dict[str, Any]:
    outcomes.check_may_kill(session, actor=actor, initiative=initiative)
    return views.kill_modal(initiative)


def _open_modal(runtime: Runtime, body: dict[str, Any], client: WebClient, respond: Respond,
                request_actor: RequestActor, build: Callable[[Session, Actor, Initiative], dict[str, Any]]) -> None:
    """A prompt button opens its modal at once (the trigger lasts 3 seconds), or says why it cannot."""
    try:
        key = ids.decode_initiative_key(body["actions"][0].get("value"))
        with runtime.read() as session:
            actor = request_actor.in_session(session)
            view = build(session, actor, _initiative(session, actor, key))
    except DomainError as error:
        tell(body, client, respond, str(error))
        return
    show_view(body, client, view)


def _submit(runtime: Runtime, ack: Ack, view: dict[str, Any], request_actor: RequestActor,
            decide: Callable[[Session, Actor, Initiative], str]) -> None:
    """Decide on submission; bad input comes back under its input, a refusal as a notice."""
    try:
        key = ids.decode_initiative_context(view.get("private_metadata")).key
        with runtime.transaction() as session:
            actor = request_actor.in_session(session)
            done = decide(session, actor, _initiative(session, actor, key, for_update=True))
    except InvalidInput as error:
        if isinstance(error, ids.StaleForm):
            ack(response_action="update", view=modals.notice(str(error)))
        else:
            ack(response_action="errors", errors=forms.outcome_errors(error, view["state"]["values"]))
        return
    except DomainError as error:
        ack(response_action="update", view=modals.notice(str(error)))
        return
    ack(response_action="update", view=modals.notice(done))


def _initiative(session: Session, actor: Actor, key: str, *, for_update: bool = False) -> Initiative:
    return initiatives.get_initiative(session, audience=Audience.of(actor), key=key, for_update=for_update)
