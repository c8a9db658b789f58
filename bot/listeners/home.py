"""The App Home, each person's desk: published when they open it (and by the outbox whenever what it shows
changes); its "See all" pages and its "New initiative" button; and `/initiative todo`, its first section."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.commands.registry import Arguments, CommandContext, Reply, Subcommand, UsageError
from bot.listeners.middleware import RequestActor
from bot.listeners.surfaces import show_view, tell
from bot.presenters import desk_page, home_view, waiting_for
from bot.runtime import Runtime
from bot.services.access.service import Audience
from bot.services.errors import DomainError
from bot.services.gates.service import catalog_for
from bot.services.validation import RISK_TIERS
from bot.views import desk, ids, modals


def todo(ctx: CommandContext, args: Arguments) -> Reply:
    if args:
        raise UsageError("`todo` takes no words: it lists everything waiting on you.")
    with ctx.runtime.read() as session:
        entries, zone = waiting_for(session, team_id=ctx.actor.team_id, user_id=ctx.actor.user_id,
                                    default_zone=ctx.runtime.settings.default_zone)
    return desk.todo_reply(entries, reader_zone=zone)


TODO = Subcommand("todo", todo, usage=(
    "/initiative todo   -> everything waiting on you, oldest first: sign-offs, conditions, KPI actuals",))


def register(app: App, runtime: Runtime) -> None:
    settings = runtime.settings

    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient, actor: RequestActor) -> None:
        if event.get("tab", "home") != "home":
            return
        team_id = body.get("team_id") or event.get("view", {}).get("team_id", "")
        with runtime.read() as session:
            # An admin as in their commands (SLACK_ADMINS_ARE_ADMINS included) sees the portfolio.
            view = home_view(session, team_id=team_id, user_id=event["user"], default_zone=settings.default_zone,
                             admin=actor.in_session(session).is_admin)
        client.views_publish(user_id=event["user"], view=view)

    def on_page(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, actor: RequestActor) -> None:
        """"See all" on the Home opens the list's first page; Next and Previous in that modal turn its pages."""
        ack()
        try:
            page = ids.decode_desk_page(body["actions"][0].get("value"))
            with runtime.read() as session:
                view = desk_page(session, reader=Audience.of(actor.in_session(session)), page=page,
                                 default_zone=settings.default_zone)
        except DomainError as error:
            tell(body, client, respond, str(error))
            return
        shown = body.get("view") or {}
        if shown.get("type") == "modal" and shown.get("callback_id") == ids.DESK_MODAL:
            client.views_update(view_id=shown["id"], view=view)
        else:
            show_view(body, client, view)

    for action_id in (ids.DESK_MORE, ids.DESK_PREVIOUS):
        app.action(action_id)(on_page)

    @app.action(ids.NEW_INITIATIVE)
    def on_new(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """The admin Home's "New initiative": the modal `/initiative new` opens."""
        ack()
        with runtime.read() as session:
            catalog = catalog_for(session, team_id=body["team"]["id"])
        show_view(body, client, modals.new_initiative(catalog, risk_tiers=RISK_TIERS))
