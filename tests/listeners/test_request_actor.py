"""Who is acting is resolved once per request, after the acknowledgement, and only when a listener needs it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.views import ids
from slack_emulator.requests import button, ticked_all
from tests.listeners.conftest import Slack
from tests.listeners.test_sign_off_round_trip import open_review, request_dm

HOME_OPENED = {"type": "app_home_opened", "user": "UDEV", "channel": "D0001", "tab": "home"}


@contextmanager
def admin_lookups(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement that reads the app's admins (`app_admin`), as the bot runs it."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "app_admin" in statement.lower():
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_each_request_resolves_its_actor_once(slack: Slack) -> None:
    open_review(slack)
    dm = request_dm(slack, "UDEV")  # UDEV is no ADMIN_USER_IDS admin: resolving asks the database

    per_request = []
    with admin_lookups(slack.runtime.engine) as lookups:
        slack.command("list", user="UDEV")
        per_request.append(len(lookups))
        slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user="UDEV", message=dm, channel=dm["channel"])
        modal = slack.opened_modal()
        per_request.append(len(lookups) - sum(per_request))
        assert slack.submit(modal, ticked_all(modal), user="UDEV") == {}
        per_request.append(len(lookups) - sum(per_request))
        slack.emulator.clear()
        assert slack.app.event(HOME_OPENED).status_code == 200
        slack.emulator.wait_for("views.publish")  # the Home was built and published: the listener is done
        per_request.append(len(lookups) - sum(per_request))

    # A command, a click and a submission each learn once who is acting; opening App Home asks once too, not
    # for an actor but for what the desk shows (the portfolio section is an admin's).
    assert per_request == [1, 1, 1, 1]
