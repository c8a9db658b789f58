"""Any Web API call, not only the outbox's, answered with a revoked-token error suspends the workspace."""

from __future__ import annotations

from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import BotToken
from bot.delivery.installation import REVOKED_ERRORS, suspend
from storage.types import utcnow


class RevocationWatcher(RetryHandler):
    """Added to a WebClient's retry handlers: any call of it answered with one of `REVOKED_ERRORS` suspends the
    workspace, as the sender does for outbox messages. It never asks for a retry."""

    def __init__(self, engine: Engine, team_id: str, bot_token: BotToken) -> None:
        super().__init__(max_retry_count=1)
        self.engine, self.team_id, self.bot_token = engine, team_id, bot_token

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        reason = (response.body or {}).get("error") if response is not None else None
        # Only the bot token's refusal says the app is gone: a call made with another token (Socket Mode's
        # apps.connections.open, with the app-level token) must not suspend the workspace, nor one made with the
        # token SLACK_BOT_TOKEN_FILE held before it changed (the next call uses the new one).
        with_bot_token = f"Bearer {self.bot_token.current()}" in request.headers.get("Authorization", [])
        if reason in REVOKED_ERRORS and with_bot_token:
            with Session(self.engine) as session, session.begin():
                suspend(session, team_id=self.team_id, reason=str(reason), now=utcnow())
        return False
