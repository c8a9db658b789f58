"""The New initiative modal's submission, "Share to channel" under `/initiative show`, and "View initiative" on a
sign-off DM."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.listeners.middleware import RequestActor
from bot.listeners.people import require_people_who_can_act
from bot.listeners.surfaces import show_view, tell
from bot.presenters import initiative_card, initiative_modal
from bot.runtime import Runtime
from bot.services.access.service import Audience, may_see, remember_names
from bot.services.errors import DomainError, InvalidInput, PermissionDenied
from bot.services.initiatives import service as initiatives
from bot.views import forms, ids, modals
from bot.views.regulation import classify_button
from storage.types import utcnow


def register(app: App, runtime: Runtime) -> None:
    @app.view(ids.NEW_INITIATIVE_MODAL)
    def on_new_initiative(ack: Ack, view: dict[str, Any], client: WebClient, actor: RequestActor) -> None:
        answers = forms.read_new_initiative(view["state"]["values"])
        try:
            names = require_people_who_can_act(client, answers.owners.values(), runtime.settings)
            with runtime.transaction() as session:
                creator = actor.in_session(session)
                remember_names(session, team_id=creator.team_id, names=names, now=utcnow())
                created = initiatives.create_initiative(
                    session, actor=creator, owners=answers.owners, channel_id=answers.channel_id,
                    tags=answers.tags, **answers.fields,
                )
                key = created.key
        except InvalidInput as error:
            ack(response_action="errors", errors=forms.new_initiative_errors(error, view["state"]["values"]))
            return
        except DomainError as error:
            ack(response_action="update", view=modals.notice(str(error)))
            return
        ack(response_action="update", view=modals.notice(
            f"Recorded {key}. Classify it now: the EU AI Act screening questions set its risk tier. "
            f"`/initiative show {key}` shows it; `/initiative submit {key}` asks its owners to sign off.",
            title="Initiative recorded", buttons=[classify_button(key)]))

    @app.action(ids.SHARE_TO_CHANNEL)
    def on_share(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        team_id = body["team"]["id"]
        sharer = Audience.person(team_id=team_id, user_id=body["user"]["id"])
        channel = Audience.channel(team_id=team_id, channel_id=(body.get("channel") or {}).get("id"))
        try:
            with runtime.read() as session:
                initiative = initiatives.get_initiative(session, audience=sharer,
                                                        key=body["actions"][0].get("value") or "")
                if not may_see(channel, initiative):
                    raise PermissionDenied(f"{initiative.key} cannot be shared here: not everyone in this channel "
                                           "may see it.")
                card = initiative_card(session, initiative, default_zone=runtime.settings.default_zone, reader=None,
                                       shared_by=body["user"]["id"])
        except DomainError as error:
            tell(body, client, respond, str(error))
            return
        respond(response_type="in_channel", replace_original=False, text=card.text, blocks=list(card.blocks))

    @app.action(ids.VIEW_INITIATIVE)
    def on_view(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, actor: RequestActor) -> None:
        ack()
        try:
            with runtime.read() as session:
                reader = Audience.of(actor.in_session(session))
                initiative = initiatives.get_initiative(session, audience=reader,
                                                        key=body["actions"][0].get("value") or "")
                view = initiative_modal(session, initiative, default_zone=runtime.settings.default_zone,
                                        reader=body["user"]["id"])
        except DomainError as error:
            tell(body, client, respond, str(error))
            return
        show_view(body, client, view)
