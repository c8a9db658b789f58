"""`/initiative gates` and `/initiative admins`, and the admins' gate editor: thin listeners around
`bot.services.gate_editing.service` and `bot.services.access.service`, with blocks from `bot.views.gates`.

A refusal (not an admin, a stale version) is answered in a modal, since modals carry no response_url; bad
input in a modal is shown under its field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot.commands.registry import Arguments, CommandContext, Reply, Subcommand, UsageError
from bot.listeners.middleware import RequestActor
from bot.listeners.surfaces import show_view
from bot.runtime import Runtime
from bot.services.access import service as permissions
from bot.services.access.service import Actor, require_admin
from bot.services.errors import DomainError, InvalidInput
from bot.services.gate_editing import service as gate_edits
from bot.services.gate_editing.service import SavedDefinition, StageStillHolds
from bot.services.gates.service import catalog_for
from bot.views import gates as views
from bot.views import modals, replies
from bot.views.admins import admins_text
from bot.views.text import mention

EDITING = "change the gate definitions"


def gates_command(ctx: CommandContext, args: Arguments) -> Reply:
    if args:
        raise UsageError("`/initiative gates` takes no arguments.")
    with ctx.runtime.transaction() as session:
        catalog = catalog_for(session, team_id=ctx.actor.team_id)
    return Reply(text=views.overview_text(catalog), blocks=views.overview(catalog, is_admin=ctx.actor.is_admin))


GATES = Subcommand("gates", gates_command, usage=("/initiative gates  -> the stages and gates; admins edit them",))


def admins_command(ctx: CommandContext, args: Arguments) -> Reply:
    action = args.tokens[0].text.lower() if args else "list"
    settings = ctx.runtime.settings
    if action == "list" and len(args.tokens) <= 1:
        with ctx.runtime.transaction() as session:
            entries = permissions.list_admins(session, team_id=ctx.actor.team_id,
                                              admin_user_ids=settings.admin_user_ids)
        return replies.done(admins_text(entries, slack_admins_are_admins=settings.slack_admins_are_admins,
                                        slack=True))
    if action not in ("add", "remove") or len(args.tokens) != 2 or not args.tokens[1].user_id:
        raise UsageError("Say `list`, or `add` or `remove` and mention one person: `/initiative admins add @maria`.")
    user_id = args.tokens[1].user_id
    with ctx.runtime.transaction() as session:
        if action == "add":
            permissions.add_admin(session, actor=ctx.actor, user_id=user_id)
        else:
            permissions.remove_admin(session, actor=ctx.actor, user_id=user_id, admin_user_ids=settings.admin_user_ids)
    return replies.done(f"{mention(user_id)} is {'now' if action == 'add' else 'no longer'} an admin.")


ADMINS = Subcommand("admins", admins_command, usage=(
    "/initiative admins list                -> who can change gates and override reviews",
    "/initiative admins add|remove @someone  -> give or take back admin rights (admins only)",
))


def register(app: App, runtime: Runtime) -> None:
    openers = {views.EDIT_STAGE: lambda c, where: views.stage_modal(c, where.stage_id),
               views.ADD_STAGE: lambda c, where: views.add_stage_modal(c),
               views.EDIT_HOLIDAYS: lambda c, where: views.holidays_modal(c),
               views.EDIT_CHECKLISTS: lambda c, where: views.checklists_modal(c, where.stage_id),
               views.REMOVE_STAGE: lambda c, where: views.remove_stage_modal(c, where.stage_id)}
    for action_id, build in openers.items():
        app.action(action_id)(_opener(runtime, build))
    for action_id, offset in ((views.MOVE_EARLIER, -1), (views.MOVE_LATER, 1)):
        app.action(action_id)(_mover(runtime, offset))

    @app.view(views.STAGE_MODAL)
    def on_stage(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                 actor: RequestActor) -> None:
        def save(session: Session, editor: Actor, where: views.GateFormContext) -> SavedDefinition | None:
            name, stall, gate = views.read_stage(view["state"]["values"])
            return gate_edits.edit_stage(session, actor=editor, based_on=where.version, stage_id=where.stage_id,
                                         name=name, stall_after_days=stall, leaving_gate=gate)
        _submit(runtime, ack, body, client, actor, save)

    @app.view(views.CHECKLISTS_MODAL)
    def on_checklists(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                      actor: RequestActor) -> None:
        def save(session: Session, editor: Actor, where: views.GateFormContext) -> SavedDefinition | None:
            return gate_edits.set_checklists(session, actor=editor, based_on=where.version, gate_id=where.gate_id,
                                             labels_by_role=views.read_checklists(view["state"]["values"]))
        _submit(runtime, ack, body, client, actor, save)

    @app.view(views.ADD_STAGE_MODAL)
    def on_add_stage(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                     actor: RequestActor) -> None:
        def save(session: Session, editor: Actor, where: views.GateFormContext) -> SavedDefinition | None:
            name, after, stall = views.read_new_stage(view["state"]["values"])
            return gate_edits.add_stage(session, actor=editor, based_on=where.version, name=name, after=after,
                                        stall_after_days=stall)
        _submit(runtime, ack, body, client, actor, save)

    @app.view(views.REMOVE_STAGE_MODAL)
    def on_remove_stage(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                        actor: RequestActor) -> None:
        def save(session: Session, editor: Actor, where: views.GateFormContext) -> SavedDefinition | None:
            move_to = views.read_move_to(view["state"]["values"])
            try:
                return gate_edits.remove_stage(session, actor=editor, based_on=where.version,
                                               stage_id=where.stage_id, move_to=move_to)
            except StageStillHolds as error:
                raise InvalidInput(str(error), field=views.MOVE_TO) from None
        _submit(runtime, ack, body, client, actor, save)

    @app.view(views.HOLIDAYS_MODAL)
    def on_holidays(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                    actor: RequestActor) -> None:
        def save(session: Session, editor: Actor, where: views.GateFormContext) -> SavedDefinition | None:
            return gate_edits.set_holidays(session, actor=editor, based_on=where.version,
                                           holidays=views.read_holidays(view["state"]["values"]))
        _submit(runtime, ack, body, client, actor, save)


def _opener(runtime: Runtime, build: Callable[[Any, views.GateFormContext], dict[str, Any]]) -> Callable[..., None]:
    """A button that opens (or, inside a modal, pushes) an editor on the newest definitions; admins only."""

    def open_editor(ack: Ack, body: dict[str, Any], client: WebClient, actor: RequestActor) -> None:
        ack()
        try:
            where = views.decode(body["actions"][0].get("value"))
            with runtime.transaction() as session:
                require_admin(actor.in_session(session), doing=EDITING)
                view = build(catalog_for(session, team_id=actor.team_id), where)
        except DomainError as error:
            view = modals.notice(str(error))
        show_view(body, client, view)

    return open_editor


def _mover(runtime: Runtime, offset: int) -> Callable[..., None]:
    """Move earlier/later inside the stage editor: saved at once, and the editor shows the new version."""

    def move(ack: Ack, body: dict[str, Any], client: WebClient, actor: RequestActor) -> None:
        ack()
        try:
            where = views.decode(body["actions"][0].get("value"))
            with runtime.transaction() as session:
                gate_edits.move_stage(session, actor=actor.in_session(session), based_on=where.version,
                                      stage_id=where.stage_id, offset=offset)
                view = views.stage_modal(catalog_for(session, team_id=actor.team_id), where.stage_id)
        except DomainError as error:
            show_view(body, client, modals.notice(str(error)))
            return
        client.views_update(view_id=body["view"]["id"], view=view)

    return move


def _submit(runtime: Runtime, ack: Ack, body: dict[str, Any], client: WebClient, request_actor: RequestActor,
            save: Callable[[Session, Actor, views.GateFormContext], SavedDefinition | None]) -> None:
    values = body["view"]["state"]["values"]
    try:
        where = views.decode(body["view"].get("private_metadata"))
        with runtime.transaction() as session:
            saved = save(session, request_actor.in_session(session), where)
    except InvalidInput as error:
        errors = views.input_errors(error, values)
        if errors:
            ack(response_action="errors", errors=errors)
        else:
            ack(response_action="update", view=modals.notice(str(error)))
        return
    except DomainError as error:
        ack(response_action="update", view=modals.notice(str(error)))
        return
    if saved is None:
        message = f"Nothing changed; the gate definitions are still version {where.version}."
    else:
        moved = "".join(f"\n{key} moved to {stage}." for key, stage in saved.moved.items())
        message = f"Saved: the gate definitions are now version {saved.version}.{moved}"
    ack(response_action="update", view=modals.notice(message, title="Gates"))
    root = body["view"].get("root_view_id")
    if root and root != body["view"]["id"]:
        # The editor underneath shows the version just replaced; show the outcome there too.
        client.views_update(view_id=root, view=modals.notice(message, title="Gates"))

