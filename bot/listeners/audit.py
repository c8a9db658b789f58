"""The "Decision record" button under `/initiative history`: the record in a private modal."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.listeners.middleware import RequestActor
from bot.runtime import Runtime
from bot.services.access.service import Audience
from bot.services.errors import DomainError
from bot.services.reviews.service import build_decision_record, load_snapshot
from bot.views import decision_record, ids, modals


def register(app: App, runtime: Runtime) -> None:
    @app.action(ids.DECISION_RECORD)
    def on_decision_record(ack: Ack, body: dict[str, Any], client: WebClient, actor: RequestActor) -> None:
        ack()
        key = body["actions"][0].get("value") or ""
        # The trigger expires in 3 s; verifying a long chain may take longer, so open first and fill in after.
        opened = client.views_open(trigger_id=body["trigger_id"], view=decision_record.building(key))
        try:
            # Showing the record only reads, so it takes no write lock and never waits behind a decision.
            with runtime.read() as session:
                reader = Audience.of(actor.in_session(session))
                record = build_decision_record(load_snapshot(session, audience=reader, key=key))
            view = decision_record.decision_record_modal(record)
        except DomainError as error:
            view = modals.notice(str(error))
        client.views_update(view_id=opened["view"]["id"], view=view)
