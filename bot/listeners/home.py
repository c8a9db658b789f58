"""App Home: published when a person opens it (and by the outbox whenever their sign-offs change)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.presenters import home_view
from bot.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        team_id = body.get("team_id") or event.get("view", {}).get("team_id", "")
        with runtime.read() as session:
            view = home_view(session, team_id=team_id, user_id=event["user"])
        client.views_publish(user_id=event["user"], view=view)
