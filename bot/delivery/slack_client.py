"""The Web API client every long-running part of the bot uses: slack_sdk's WebClient, counting each call by method
and result for `/metrics` (`bot.metrics.SLACK_API_CALLS`), and asking the bot token before each call
(`bot.config.BotToken`: a token written to SLACK_BOT_TOKEN_FILE is used without a restart). Every WebClient method
goes through `api_call`, which reads `token`."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.config import BotToken, Settings
from bot.metrics import SLACK_API_CALLS, slack_api_result


class MeasuredWebClient(WebClient):
    # Set: `token` is the bot token as it reads now, whatever was set. A class attribute too, for the clients Bolt
    # builds per request and `bot.app` turns into this class.
    bot_token: BotToken | None = None

    def __init__(self, *, bot_token: BotToken | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.bot_token = bot_token

    @property  # type: ignore[override]
    def token(self) -> str | None:
        if self.bot_token is not None:
            return self.bot_token.current()
        return self.__dict__.get("token")

    @token.setter
    def token(self, value: str | None) -> None:
        self.__dict__["token"] = value

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            SLACK_API_CALLS.labels(api_method, slack_api_result(exc.response.status_code)).inc()
            raise
        except Exception:
            SLACK_API_CALLS.labels(api_method, slack_api_result(None)).inc()
            raise
        SLACK_API_CALLS.labels(api_method, "ok").inc()
        return response


def bot_client(settings: Settings, **options: Any) -> MeasuredWebClient:
    """A client of SLACK_API_URL that calls with the bot token as it reads at each call."""
    return MeasuredWebClient(bot_token=settings.bot_token(), base_url=settings.slack_api_url, **options)
