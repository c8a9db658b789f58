"""In Slack: `/initiative history KEY` offers a "Decision record" button that shows the record privately."""

from __future__ import annotations

from bot.views import ids
from slack_emulator.requests import block_actions_payload
from storage.models import SlackEventReceipt
from tests.services.audit.history import decide_everything, new_initiative
from tests.support.slack_app import slack_app, slack_emulator  # noqa: F401  (fixtures)

EVIDENCE = "https://wiki.example.com/fraud/data-governance"


def decided_initiative(slack_app) -> str:  # type: ignore[no-untyped-def]  # noqa: F811
    """An initiative whose first gate every owner decided, one item waived and evidence linked: its key."""
    for user_id in ("UBIZ", "UDATA", "UENG"):
        slack_app.emulator.add_user(user_id, user_id.lower())
    key = new_initiative(slack_app.runtime, team_id=slack_app.emulator.team_id)
    decide_everything(slack_app.runtime, key, team_id=slack_app.emulator.team_id, waive_item="sources-governed",
                      evidence=(EVIDENCE,))
    return key


def test_history_button_opens_the_decision_record_in_a_private_modal(slack_app):  # noqa: F811
    emulator = slack_app.emulator
    team = emulator.team_id
    key = decided_initiative(slack_app)

    answer = slack_app.ask(f"history {key}", user_id="UBIZ")
    buttons = [element for block in answer["blocks"] if block["type"] == "actions" for element in block["elements"]]
    assert [(b["action_id"], b["value"], b["text"]["text"]) for b in buttons] == [
        (ids.DECISION_RECORD, key, "Decision record")]

    click = block_actions_payload(ids.DECISION_RECORD, key, user_id="UENG", team_id=team,
                                  trigger_id=emulator.new_trigger_id(), response_url=emulator.new_response_url())
    assert slack_app.interact(click).status_code == 200

    (update,) = emulator.wait_for("views.update", 1, timeout=10)
    shown = "\n".join(block.get("text", {}).get("text", "") for block in update.response["view"]["blocks"]
                      if block["type"] == "section")
    assert "*Pilot approval* (Idea → Pilot): *passed*" in shown
    assert "*Data owner*: approved by <@UDATA>" in shown
    assert "Data use approved by its governance owner _(waived: covered by the vendor's own assessment)_" in shown
    assert f"📎 {EVIDENCE}" in shown
    context = update.response["view"]["blocks"][2]["elements"][0]["text"]
    assert context.startswith("✅ Audit chain of ") and "verifies" in context
    assert emulator.calls_to("views.open")[0].params["trigger_id"] == click["trigger_id"]


def test_the_decision_record_shows_while_a_decision_holds_the_write_lock(slack_app):  # noqa: F811
    """Showing the record only reads: it neither waits for nor takes the write lock a decision holds."""
    emulator, runtime = slack_app.emulator, slack_app.runtime
    team = emulator.team_id
    key = decided_initiative(slack_app)

    click = block_actions_payload(ids.DECISION_RECORD, key, user_id="UENG", team_id=team,
                                  trigger_id=emulator.new_trigger_id(), response_url=emulator.new_response_url())
    with runtime.transaction() as writer:
        # An uncommitted write: SQLite's write lock is held until this block ends.
        writer.add(SlackEventReceipt(event_id="Ev-held", team_id=team, event_type="test"))
        writer.flush()
        assert slack_app.interact(click).status_code == 200
        (update,) = emulator.wait_for("views.update", 1, timeout=5)
    assert "*Pilot approval* (Idea → Pilot): *passed*" in str(update.response["view"]["blocks"])
