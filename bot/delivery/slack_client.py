"""The Web API client every long-running part of the bot uses: slack_sdk's WebClient, counting each call by method
and result for `/metrics` (`bot.metrics.SLACK_API_CALLS`). Every WebClient method goes through `api_call`."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.metrics import SLACK_API_CALLS, slack_api_result


class MeasuredWebClient(WebClient):
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
