"""Updates of a posted message queued as intents ("update the DM of sign-off S"): rendered by the sender when it
sends them, from the database as it is then, in the order they were queued among the other updates of that
message; pending copies of one intent collapse into one call, but never across another update queued between
them. Both backends, over real HTTP to the Slack emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.delivery.messages import post_message, update_message
from bot.runtime import Runtime
from slack_emulator import SlackEmulator
from storage.models import OutboxMessage, Workspace
from tests.support.factories import TEAM
from tests.support.slack_app import deliver_outbox

STATUS = "workspace_status"


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator(team_id=TEAM) as emulator:
        emulator.add_user("U0001", "alice")
        yield emulator


def renamed(runtime: Runtime, name: str) -> None:
    with runtime.transaction() as session:
        workspace = session.get(Workspace, TEAM)
        assert workspace is not None
        workspace.name = name


def test_update_intents_render_at_send_time_in_order_and_collapse_only_adjacent_copies(
    runtime: Runtime, emulator: SlackEmulator
) -> None:
    renderings: list[str] = []

    def render_status(session: Session, team_id: str, intent: dict[str, Any]) -> dict[str, Any]:
        workspace = session.get(Workspace, team_id)
        assert workspace is not None
        renderings.append(workspace.name)
        return {"text": f"Workspace: {workspace.name}"}

    runtime.renderers[STATUS] = render_status
    with runtime.transaction() as session:
        message = post_message(session, team_id=TEAM, kind="test", subject=1,
                               payload={"channel": "U0001", "text": "Posted"})
        update_message(session, message, intent={"kind": STATUS})
        update_message(session, message, intent={"kind": STATUS})  # a copy: one call answers both
        update_message(session, message, payload={"text": "Queued in between"})
        update_message(session, message, intent={"kind": STATUS})  # after that update, so sent after it
        other = post_message(session, team_id=TEAM, kind="test", subject=2,
                             payload={"channel": "U0001", "text": "Posted too"})
        update_message(session, other, intent={"kind": STATUS})  # the same intent, but not a copy: another message
    renamed(runtime, "Renamed after the decision")

    report = deliver_outbox(runtime, emulator)

    first, other = (m["ts"] for m in emulator.messages(emulator.dm_channel("U0001")))
    updates = [(call.params["ts"], call.params["text"]) for call in emulator.calls_to("chat.update")]
    now_shown = "Workspace: Renamed after the decision"
    assert [text for ts, text in updates if ts == first] == [now_shown, "Queued in between", now_shown]
    assert [text for ts, text in updates if ts == other] == [now_shown]
    assert renderings == ["Renamed after the decision"] * 3  # 4 intents, 3 calls
    assert report.sent == 6 and report.failed == 0  # 2 posts, 4 updates
    assert [m["text"] for m in emulator.messages()] == [now_shown, now_shown]  # both updated in place
    with runtime.transaction() as session:
        assert {row.state for row in session.exec(select(OutboxMessage))} == {"sent"}

