"""The listener's whole transaction that records a decision, over signed HTTP, a Conditional Go included: it
builds no Block Kit and gathers no sign-off card while it is open; the modal shown next is gathered and rendered
after the commit, and what the decision queued reaches Slack when the outbox sends it. (The service's transaction
alone, and its statement count: tests/services/reviews/test_decision_path.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slack_sdk.models.blocks import Block
from sqlmodel import select

from bot import notifications, presenters
from bot.listeners import sign_offs as sign_off_listeners
from bot.runtime import Runtime
from bot.views import ids
from slack_emulator.requests import button, ticked_all
from storage.models import Initiative
from tests.listeners.conftest import Slack, slack, slack_emulator  # noqa: F401  (fixtures)
from tests.listeners.test_conditions import rich_text, text, user
from tests.listeners.test_sign_off_round_trip import approve_from_dm


@contextmanager
def presented_inside_transactions() -> Iterator[list[str]]:
    """What is presented while a write transaction (`Runtime.transaction`, of any runtime: the app's derive from
    the one it was given) is open: Block Kit built, and sign-off cards gathered (what a modal or a DM shows), by
    any thread. Read-only transactions are not watched."""
    presented: list[str] = []
    open_transactions = [0]
    original_transaction, original_block, original_card = Runtime.transaction, Block.__init__, presenters.sign_off_card

    @contextmanager
    def watched(self: Runtime) -> Iterator[Any]:
        open_transactions[0] += 1
        try:
            with original_transaction(self) as session:
                yield session
        finally:
            open_transactions[0] -= 1

    def block(self: Block, *args: Any, **kwargs: Any) -> None:
        if open_transactions[0]:
            presented.append(type(self).__name__)
        original_block(self, *args, **kwargs)

    def card(*args: Any, **kwargs: Any) -> Any:
        if open_transactions[0]:
            presented.append("sign_off_card")
        return original_card(*args, **kwargs)

    Runtime.transaction = watched  # type: ignore[method-assign]
    Block.__init__ = block  # type: ignore[method-assign]
    cards = [module for module in (presenters, notifications, sign_off_listeners) if hasattr(module, "sign_off_card")]
    for module in cards:
        module.sign_off_card = card  # type: ignore[attr-defined]
    try:
        yield presented
    finally:
        Runtime.transaction = original_transaction  # type: ignore[method-assign]
        Block.__init__ = original_block  # type: ignore[method-assign]
        for module in cards:
            module.sign_off_card = original_card  # type: ignore[attr-defined]


def test_the_listeners_decision_transaction_presents_nothing_even_for_a_conditional_go(
        slack: Slack,  # noqa: F811
) -> None:
    """Over signed HTTP: Maria, holding two roles, approves the first with a condition and gets the second checklist
    at once (gathered and rendered after the commit); Erin's approval passes the gate, which tracks the condition.
    No decision's transaction builds a block or gathers a card; what they queued reaches Slack when sent."""
    answer = slack.command("new Churn model business=<@UMARIA|maria> data=<@UMARIA|maria> eng=<@UERIN|erin> "
                           "risk=low")
    assert "Recorded *AI-1*" in answer["text"]
    slack.command("submit AI-1")
    slack.deliver()
    first = next(m for m in slack.dms_to("UMARIA") if m["blocks"][0]["text"]["text"].startswith("Sign-off requested"))
    slack.click(ids.APPROVE_WITH_CONDITIONS, button(first, ids.APPROVE_WITH_CONDITIONS)["value"], user="UMARIA",
                message=first, channel=first["channel"])
    modal = slack.opened_modal()

    with presented_inside_transactions() as presented:
        answer = slack.submit(modal, {**ticked_all(modal), **rich_text(
            [text("Retraining pipeline in place "), user("UDEV")])}, user="UMARIA")
        following = answer["view"]
        assert (answer["response_action"], following["callback_id"]) == ("update", ids.CHECKLIST_MODAL)
        assert slack.submit(following, ticked_all(following), user="UMARIA") == {}
        assert approve_from_dm(slack, "UERIN") == {}

    assert presented == []
    slack.deliver()
    with slack.runtime.read() as session:
        assert session.exec(select(Initiative)).one().stage == "pilot"
    news = [m["text"] for m in slack.dms_to("UDEV")]
    assert any(t.startswith("Condition AI-1-C1 of AI-1 is yours to meet by ") for t in news), news
