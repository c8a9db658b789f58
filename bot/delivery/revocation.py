"""Any Web API call, not only the outbox's, answered with a revoked-token error suspends the workspace."""

from __future__ import annotations

from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from sqlalchemy import Engine
from sqlmodel import Session

from bot.delivery.installation import REVOKED_ERRORS, suspend
from storage.types import utcnow


class RevocationWatcher(RetryHandler):
    """Added to a WebClient's retry handlers: any call of it answered with one of `REVOKED_ERRORS` suspends the
    workspace, as the sender does for outbox messages. It never asks for a retry."""

    def __init__(self, engine: Engine, team_id: str) -> None:
        super().__init__(max_retry_count=1)
        self.engine, self.team_id = engine, team_id

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        reason = (response.body or {}).get("error") if response is not None else None
        # A call made with the app-level token (Socket Mode's apps.connections.open) says nothing of the bot token:
        # a wrong SLACK_APP_TOKEN must not suspend the workspace.
        app_level = request.url.rstrip("/").endswith("/apps.connections.open")
        if reason in REVOKED_ERRORS and not app_level:
            with Session(self.engine) as session, session.begin():
                suspend(session, team_id=self.team_id, reason=str(reason), now=utcnow())
        return False
