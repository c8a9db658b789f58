"""People who cannot act: the "Reassign…" button of a "reassign needed" message opens a modal that gives the
deactivated owner's role to someone else (their pending sign-offs and re-attestations move with it), or their
open condition; and the check that a new owner is someone who can act (not a guest, unless ALLOW_GUEST_OWNERS,
and not from another organisation)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.listeners.middleware import RequestActor
from bot.listeners.surfaces import show_view, tell
from bot.runtime import Runtime
from bot.services.access.service import (
    EXTERNAL_PERSON,
    GUEST,
    Audience,
    display_name_of,
    remember_names,
    why_not_an_owner,
)
from bot.services.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from bot.services.gates.service import catalog_for
from bot.services.initiatives import service as initiatives
from bot.services.tracked_items import service as tracked_items
from bot.views import ids, modals
from bot.views.people import condition_reassign_modal, reassign_modal
from storage.models import TrackedItem
from storage.types import utcnow

log = logging.getLogger(__name__)


def register(app: App, runtime: Runtime) -> None:
    @app.action(ids.REASSIGN_ROLE)
    def on_reassign(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, actor: RequestActor) -> None:
        ack()
        try:
            key, role = ids.decode_role(body["actions"][0].get("value"))
            with runtime.read() as session:
                decider = actor.in_session(session)
                initiative = initiatives.get_initiative(session, audience=Audience.of(decider), key=key)
                initiatives.require_manager(session, actor=decider, initiative=initiative, doing="reassign its owners")
                view = reassign_modal(initiative, role=role,
                                      role_name=catalog_for(session, team_id=initiative.team_id).role_name(role))
        except DomainError as error:
            tell(body, client, respond, str(error))
            return
        show_view(body, client, view)

    @app.view(ids.REASSIGN_MODAL)
    def on_reassign_submitted(ack: Ack, view: dict[str, Any], client: WebClient, actor: RequestActor) -> None:
        def reassign(new_owner: str, names: dict[str, str]) -> str:
            key, role = ids.decode_role(view.get("private_metadata"))
            with runtime.transaction() as session:
                decider = actor.in_session(session)
                remember_names(session, team_id=decider.team_id, names=names, now=utcnow())
                initiative = initiatives.get_initiative(session, audience=Audience.of(decider), key=key,
                                                        for_update=True)
                initiatives.assign_owners(session, actor=decider, initiative=initiative, owners={role: new_owner})
            return f"<@{new_owner}> is now {key}'s owner for this role; its pending sign-offs went to them."

        _submit_reassign(ack, view, client, runtime.settings, reassign)

    @app.action(ids.REASSIGN_ITEM)
    def on_reassign_item(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond,
                         actor: RequestActor) -> None:
        ack()
        try:
            key, gone = ids.decode_item_owner(body["actions"][0].get("value"))
            with runtime.read() as session:
                decider = actor.in_session(session)
                initiative, item = tracked_items.find_item(session, audience=Audience.of(decider), key=key)
                tracked_items.require_sponsor_or_admin(session, actor=decider, initiative=initiative, item=item,
                                                       doing="reassign")
                _require_still_with(item, gone, key)
                view = condition_reassign_modal(tracked_items.key_of(initiative, item), initiative, item)
        except DomainError as error:
            tell(body, client, respond, str(error))
            return
        show_view(body, client, view)

    @app.view(ids.REASSIGN_ITEM_MODAL)
    def on_reassign_item_submitted(ack: Ack, view: dict[str, Any], client: WebClient, actor: RequestActor) -> None:
        def reassign(new_owner: str, _names: dict[str, str]) -> str:
            key, gone = ids.decode_item_owner(view.get("private_metadata"))
            with runtime.transaction() as session:
                decider = actor.in_session(session)
                initiative, item = tracked_items.find_item(session, audience=Audience.of(decider), key=key,
                                                           for_update=True)
                _require_still_with(item, gone, key)
                tracked_items.reassign(session, actor=decider, initiative=initiative, item=item, owner=new_owner,
                                       reason=f"<@{gone}>'s Slack account was deactivated")
                return f"<@{new_owner}> now owns {tracked_items.key_of(initiative, item)}; they will be reminded of it."

        _submit_reassign(ack, view, client, runtime.settings, reassign)


def _submit_reassign(ack: Ack, view: dict[str, Any], client: WebClient, settings: Settings,
                     reassign: Callable[[str, dict[str, str]], str]) -> None:
    """A reassign modal's submission, for a role or a condition: the person picked must be able to act; then
    `reassign(new_owner, their names)` does it and says what was done, or a refusal is shown in the modal."""
    new_owner = (view["state"]["values"].get(ids.REASSIGN_BLOCK, {}).get(ids.VALUE) or {}).get("selected_user")
    try:
        if not new_owner:
            raise InvalidInput("Pick the new owner.")
        done = reassign(new_owner, require_people_who_can_act(client, [new_owner], settings))
    except InvalidInput as error:
        ack(response_action="errors", errors={ids.REASSIGN_BLOCK: str(error)})
        return
    except DomainError as error:
        ack(response_action="update", view=modals.notice(str(error)))
        return
    ack(response_action="update", view=modals.notice(done))


def _require_still_with(item: TrackedItem, gone: str, key: str) -> None:
    """A "reassign needed" message is about the deactivated owner: once the condition is someone else's (or
    closed), its button has done its work."""
    if item.owner != gone or item.state != tracked_items.OPEN:
        raise Conflict(f"{key} is no longer <@{gone}>'s to reassign: it is {item.state}, with <@{item.owner}>.")


def require_people_who_can_act(client: WebClient, user_ids: Iterable[str], settings: Settings) -> dict[str, str]:
    """Refuse as an owner a deactivated account, a guest (unless ALLOW_GUEST_OWNERS), or a person from another
    organisation (Slack Connect), saying why. A person Slack will not tell us about is let through (logged): the
    check must not make owners impossible to set while Slack is briefly unreachable. Returns the names Slack gave,
    for `remember_names` in the caller's transaction."""
    names: dict[str, str] = {}
    for user_id in dict.fromkeys(user_ids):
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except SlackApiError as exc:
            log.warning("users.info %s failed (%s); not checked as an owner", user_id, exc.response.get("error"))
            continue
        why = why_not_an_owner(user, allow_guests=settings.allow_guest_owners)
        if why is not None:
            raise PermissionDenied(f"<@{user_id}> cannot be an owner: {why}. {_INSTEAD.get(why, '')}".strip())
        if name := display_name_of(user):
            names[user_id] = name
    return names


# What to do instead, after the refusal's reason.
_INSTEAD = {EXTERNAL_PERSON: "Name someone in this workspace.",
            GUEST: "Name a full member, or an admin sets ALLOW_GUEST_OWNERS=true."}

