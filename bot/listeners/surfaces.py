"""Answering where the request came from: a message click has a response_url (ephemeral reply); App Home and
modals have none, so they are answered in a modal."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.runtime import Runtime
from bot.services.access.service import Actor, zone_for
from bot.services.business_days import local_date
from bot.views import modals
from storage.types import utcnow


def clicked_in_message(body: dict[str, Any]) -> bool:
    return (body.get("container") or {}).get("type") == "message" and bool(body.get("response_url"))


def tell(body: dict[str, Any], client: WebClient, respond: Respond, text: str) -> None:
    """Say one thing privately to whoever clicked: ephemeral by response_url, or a modal."""
    if clicked_in_message(body):
        respond(text=text, response_type="ephemeral", replace_original=False)
    else:
        show_view(body, client, modals.notice(text))


def show_view(body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    """Open a modal, or push it on top when the click came from inside one (a modal cannot open another)."""
    if (body.get("view") or {}).get("type") == "modal":
        client.views_push(trigger_id=body["trigger_id"], view=view)
    else:
        client.views_open(trigger_id=body["trigger_id"], view=view)


def today_of(session: Session, runtime: Runtime, actor: Actor) -> date:
    """Today in the actor's zone: a revisit date or a measurement date is a day of their calendar."""
    zone = zone_for(session, team_id=actor.team_id, user_id=actor.user_id, default=runtime.settings.default_zone)
    return local_date(utcnow(), zone)
