"""Bolt middleware every request passes before its listener: who is acting.

It never waits on the database or on Slack: a click must be acknowledged even when the database is down, and
nothing before the listener's `ack()` may keep it waiting. So the actor is handed on unresolved
(`context["actor"]`, a `RequestActor`) and resolved on first use, inside the listener's transaction, after the
ack; once per request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from slack_bolt import BoltContext, BoltResponse
from slack_sdk import WebClient
from sqlmodel import Session

from bot.runtime import Runtime
from bot.services.access.actors import Actor
from bot.services.access.admins import resolve_actor


class RequestActor:
    """Who is acting in one request: resolved once, on first use, with the session of the transaction in hand."""

    def __init__(self, *, team_id: str, user_id: str, resolve: Callable[[Session], Actor]) -> None:
        self.team_id = team_id
        self.user_id = user_id
        self._resolve = resolve
        self._resolved: Actor | None = None
        self._lock = threading.Lock()

    def in_session(self, session: Session) -> Actor:
        with self._lock:
            if self._resolved is None:
                self._resolved = self._resolve(session)
            return self._resolved


def request_actor(runtime: Runtime, *, team_id: str, user_id: str, client: WebClient | None) -> RequestActor:
    """The actor of a request, not yet resolved."""
    settings = runtime.settings

    def resolve(session: Session) -> Actor:
        return resolve_actor(
            team_id=team_id,
            user_id=user_id,
            admin_user_ids=settings.admin_user_ids,
            session=session,
            slack_admins_are_admins=settings.slack_admins_are_admins and client is not None,
            users_info=runtime.workspace_roles.remembering(
                team_id, lambda uid: client.users_info(user=uid)["user"]) if client is not None else None,
        )

    return RequestActor(team_id=team_id, user_id=user_id, resolve=resolve)


def hand_on_actor(runtime: Runtime) -> Callable[..., BoltResponse | None]:
    """Middleware: `context["actor"]` for every request made by a person (unresolved: no I/O here)."""

    def hand_on_actor(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        if context.team_id and context.user_id:
            context["actor"] = request_actor(runtime, team_id=context.team_id, user_id=context.user_id,
                                             client=context.client)
        return next()

    return hand_on_actor
