"""Bolt middleware every request passes before its listener: one workspace per token, and who is acting.

Neither waits on the database or on Slack: a click must be acknowledged even when the database is down, and
nothing before the listener's `ack()` may keep it waiting. So the actor is handed on unresolved
(`context["actor"]`, a `RequestActor`) and resolved on first use, inside the listener's transaction, after the
ack; once per request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltResponse
from slack_sdk import WebClient
from sqlmodel import Session

from bot.runtime import Runtime
from bot.services.access.service import Actor, UsersInfo, resolve_actor

log = logging.getLogger(__name__)

# What the person sees when their slash command comes from a workspace this bot does not serve.
OTHER_WORKSPACE = "This bot serves one Slack workspace, and this is not it; nothing was changed."


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


def request_actor(runtime: Runtime, *, workspace: str, team_id: str, user_id: str,
                  client: WebClient | None) -> RequestActor:
    """The actor of a request to the workspace `workspace` (the bot token's), not yet resolved."""
    settings = runtime.settings
    roles = slack_roles(runtime, client) if client is not None else None

    def resolve(session: Session) -> Actor:
        return resolve_actor(
            team_id=team_id,
            user_id=user_id,
            admin_user_ids=settings.admin_user_ids,
            admin_user_ids_team=workspace,
            session=session,
            slack_admins_are_admins=roles is not None,
            users_info=roles(team_id) if roles is not None else None,
        )

    return RequestActor(team_id=team_id, user_id=user_id, resolve=resolve)


def slack_roles(runtime: Runtime, client: WebClient) -> Callable[[str], UsersInfo] | None:
    """With SLACK_ADMINS_ARE_ADMINS on, a workspace -> how users.info is asked there through `client` (remembered
    for a few minutes: `runtime.workspace_roles`); None when it is off. What requests resolve their actor with, and
    what the sender resolves a Home's reader with (bot.wiring), so both agree on who is an admin."""
    if not runtime.settings.slack_admins_are_admins:
        return None
    return lambda team_id: runtime.workspace_roles.remembering(
        team_id, lambda user_id: client.users_info(user=user_id)["user"])


def hand_on_actor(runtime: Runtime, *, workspace: str) -> Callable[..., BoltResponse | None]:
    """Middleware: `context["actor"]` for every request made by a person (unresolved: no I/O here)."""

    def hand_on_actor(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        if context.team_id and context.user_id:
            context["actor"] = request_actor(runtime, workspace=workspace, team_id=context.team_id,
                                             user_id=context.user_id, client=context.client)
        return next()

    return hand_on_actor


def serve_one_workspace(workspace: str) -> Callable[..., BoltResponse | None]:
    """Middleware: refuse, in one log line, a request about any workspace but `workspace`, the bot token's.

    The single token would otherwise answer (publish Homes, post, write rows) for whatever workspace a request
    claims. Every place a listener reads a workspace from must agree, so a payload cannot name one here and
    another there. Refused requests still get a 200: Slack would retry an event, and disable an events URL that
    keeps failing."""

    def serve_one_workspace(body: dict[str, Any], context: BoltContext,
                            next: Callable[[], BoltResponse]) -> BoltResponse | None:
        claimed = _claimed_workspaces(body) | {context.team_id}
        if claimed == {workspace}:
            return next()
        kind = body.get("command") or body.get("type") or "request"
        log.warning("refused a %s for workspace %s: this bot's token serves workspace %s only", kind,
                    ", ".join(sorted(str(team) for team in claimed)), workspace)
        if body.get("command"):
            return BoltResponse(status=200, body=OTHER_WORKSPACE)
        return BoltResponse(status=200, body="")

    return serve_one_workspace


def _claimed_workspaces(body: dict[str, Any]) -> set[str | None]:
    """Every workspace id a listener may read from `body`: the top level, and `team` of an interaction."""
    claimed: set[str | None] = set()
    if "team_id" in body:
        claimed.add(body["team_id"])
    team = body.get("team")
    if isinstance(team, dict):
        claimed.add(team.get("id"))
    elif team is not None:
        claimed.add(team)
    return claimed
