"""App Homes are refreshed through intents: a decision queues "refresh U's Home", and the sender renders it when
it sends it. Many decisions in a row cost one views.publish per person per sender pass, showing the final state;
both backends, over real HTTP to the Slack emulator."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.delivery.outbox import RENDER
from bot.presenters import HOME_INTENT, render_home
from bot.views import ids
from slack_emulator.requests import button, ticked_all
from storage.models import OutboxMessage
from storage.types import utcnow
from tests.listeners.conftest import Slack
from tests.support.slack_app import deliver_outbox

OWNERS = "business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin> risk=low"


def open_reviews(slack: Slack, count: int) -> None:
    for number in range(1, count + 1):
        assert f"Recorded *AI-{number}*" in slack.command(f"new Model {number} {OWNERS}", user="UOTTO")["text"]
        slack.command(f"submit AI-{number}", user="UOTTO")
    slack.deliver()


def approve(slack: Slack, user: str, key: str) -> None:
    """Approve `key` from its sign-off request DM, ticking the whole checklist."""
    [dm] = [m for m in slack.dms_to(user)
            if m["blocks"][0]["text"]["text"].startswith("Sign-off requested") and key in str(m["blocks"])]
    slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user=user, message=dm, channel=dm["channel"])
    modal = slack.opened_modal()
    assert slack.submit(modal, ticked_all(modal), user=user) == {}


def homes_published(slack: Slack) -> dict[str, list[dict[str, Any]]]:
    """Each person's published Home views, in the order they were published."""
    published: dict[str, list[dict[str, Any]]] = {}
    for call in slack.emulator.calls_to("views.publish"):
        assert call.ok, call.response
        published.setdefault(call.params["user_id"], []).append(call.json_param("view"))
    return published


def pending_shown(home: dict[str, Any]) -> list[str]:
    """The initiatives whose sign-offs a Home offers to decide, as it shows them."""
    return [block["text"]["text"].split("*")[1] for block in home["blocks"]
            if block["type"] == "section" and " sign-off · " in block["text"]["text"]]


def home_intents(slack: Slack) -> list[OutboxMessage]:
    with slack.runtime.transaction() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.method == "views.publish"))
        return [row for row in rows if row.payload.get(RENDER) == HOME_INTENT]


def test_many_decisions_in_a_row_publish_each_home_once_showing_the_final_state(slack: Slack) -> None:
    open_reviews(slack, 3)
    slack.emulator.clear()
    for key in ("AI-1", "AI-2", "AI-3"):
        approve(slack, "UDEV", key)
    approve(slack, "UMARIA", "AI-1")
    queued = Counter(row.payload["user_id"] for row in home_intents(slack) if row.state == "pending")
    assert queued == {"UDEV": 4, "UMARIA": 4, "UERIN": 4}  # one per decision and person: nothing rendered yet

    slack.deliver()

    published = homes_published(slack)
    assert {user: len(views) for user, views in published.items()} == {"UDEV": 1, "UMARIA": 1, "UERIN": 1}
    # As after the last decision: UDEV approved all three, UMARIA one of her three.
    assert pending_shown(published["UDEV"][0]) == [] and pending_shown(published["UMARIA"][0]) == ["AI-2", "AI-3"]
    assert pending_shown(published["UERIN"][0]) == ["AI-1", "AI-2", "AI-3"]
    assert {row.state for row in home_intents(slack)} == {"sent"}


def test_a_refresh_queued_while_that_home_is_being_sent_waits_and_is_sent_after_it(slack: Slack) -> None:
    open_reviews(slack, 1)
    approve(slack, "UDEV", "AI-1")
    slack.emulator.clear()
    during: dict[str, list[dict[str, Any]]] = {}

    def render_while_maria_decides(session, team_id, intent):  # type: ignore[no-untyped-def]
        if intent["user_id"] == "UDEV" and not during:
            # Another replica's pass runs while this sender renders UDEV's Home (nothing of this session is
            # read yet, so on SQLite it holds no lock).
            approve(slack, "UMARIA", "AI-1")
            deliver_outbox(slack.runtime, slack.emulator)
            during.update(homes_published(slack))
        return render_home(session, team_id, intent)

    first = deliver_outbox(replace(slack.runtime, renderers={HOME_INTENT: render_while_maria_decides}),
                           slack.emulator)
    assert first.failed == 0 and during
    assert "UDEV" not in during  # UDEV's Home was in flight; the other pass left its newer copy alone
    assert pending_shown(during["UMARIA"][-1]) == []  # with the decision made during the pass

    slack.deliver()

    assert len(homes_published(slack)["UDEV"]) == 2  # the pass's, then one for the refresh queued meanwhile
    assert {row.state for row in home_intents(slack)} == {"sent"}


def test_a_sender_that_cannot_render_homes_leaves_them_to_one_that_can(slack: Slack) -> None:
    open_reviews(slack, 1)
    slack.emulator.clear()
    approve(slack, "UDEV", "AI-1")

    without_homes = {kind: renderer for kind, renderer in slack.runtime.renderers.items() if kind != HOME_INTENT}
    report = deliver_outbox(replace(slack.runtime, renderers=without_homes), slack.emulator)

    assert report.failed == 0 and slack.emulator.calls_to("chat.update")  # the DM update went out
    assert slack.emulator.calls_to("views.publish") == []
    assert {row.state for row in home_intents(slack)} == {"pending", "sent"}
    slack.deliver()
    assert sorted(homes_published(slack)) == ["UDEV", "UERIN", "UMARIA"]
    assert {row.state for row in home_intents(slack)} == {"sent"}


def test_a_home_that_fails_to_render_is_retried_later_and_nothing_is_sent_meanwhile(slack: Slack) -> None:
    open_reviews(slack, 1)
    slack.emulator.clear()
    approve(slack, "UDEV", "AI-1")

    def broken(session, team_id, intent):  # type: ignore[no-untyped-def]
        raise LookupError("a bug in a renderer")

    report = deliver_outbox(replace(slack.runtime, renderers={HOME_INTENT: broken}), slack.emulator)

    assert report.retrying == 3 and slack.emulator.calls_to("views.publish") == []
    waiting = [row for row in home_intents(slack) if row.state == "pending"]
    assert {(row.attempts, row.last_error) for row in waiting} == {(1, "rendering failed: LookupError")}
    deliver_outbox(slack.runtime, slack.emulator, now=lambda: utcnow() + timedelta(minutes=1))
    assert sorted(homes_published(slack)) == ["UDEV", "UERIN", "UMARIA"]
