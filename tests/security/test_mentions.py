"""No message the bot sends pings anyone because of what someone typed (issue 22).

Text with every broadcast and mention spelling goes in through a modal (where Slack delivers it as typed) and a
slash command (where Slack delivers a typed `@channel` as `<!channel>`, and a typed `<!here>` escaped); then it
travels: sign-off request DMs, their updates, news to the other owners, the channel announcement, App Homes,
and the commands' answers. Every text of every Slack call the emulator recorded, and of every response_url post,
is scanned (`tests.support.blockkit.unwanted_mentions`). The guard: user text goes into mrkdwn only through
`bot.views.text.escape`/`mrkdwn`, and nothing is posted with `link_names`."""

from __future__ import annotations

from typing import Any

from bot.views import ids
from slack_emulator.requests import ticked_all, view_submission_payload
from tests.security.conftest import Review, Target
from tests.support.blockkit import sent_texts, unwanted_mentions

CHANNEL = "CANNOUNCE"
SPOOFED = "UCEO"  # nobody in this workspace's initiatives: a <@UCEO> only ever comes from typed text
# As typed into a modal: Slack delivers it unchanged.
HOSTILE = (f"<!channel> <!here> <!everyone> <!here|here> @channel @here <@{SPOOFED}> <@{SPOOFED}|ceo> "
           "<!subteam^S0123|@ml-team>")
SHORT = f"<!here> <@{SPOOFED}>"  # for fields of at most 100 characters
# As typed into `/initiative new`: Slack turns a typed @channel into <!channel>, a picked group into
# <!subteam^…>, and escapes what looks like markup.
COMMAND_TITLE = "Plan <!channel> <!everyone> &lt;!here&gt; <!subteam^S0123|@ml-team> @here"


def test_no_message_the_bot_sends_carries_a_mention_someone_typed(target: Target) -> None:
    target.emulator.add_channel(CHANNEL, "churn-model")
    review = Review(_new_initiative_from_the_modal(target))
    assert "Review of" in target.ask(f"submit {review.key}")["text"]
    target.sent_everything()
    for owner in ("UDEV", "UERIN", "UMARIA"):
        modal = target.checklist_opened_by(owner, review.request_dm(target, owner))
        values = ticked_all(modal) | {ids.COMMENT_BLOCK: _typed(HOSTILE)}
        submitted = view_submission_payload(modal["callback_id"], values, modal["private_metadata"], owner,
                                            view=modal)
        assert target.interact(submitted).status_code == 200
    commanded = target.ask(f"new {COMMAND_TITLE} business=<@UMARIA|maria> data=<@UDEV|dev> eng=<@UERIN|erin>")
    assert "Recorded" in commanded["text"], commanded
    for text in (f"show {review.key}", "list", f"history {review.key}"):
        target.ask(text)
    target.sent_everything()

    assert unwanted_mentions(target.emulator, spoofed_users=[SPOOFED]) == []
    # The typed text reached Slack, escaped, wherever the bot shows it: so the scan above scanned it.
    reached = {where for where, text in sent_texts(target.emulator) if "&lt;!channel&gt;" in text}
    assert {"chat.postMessage", "chat.update", "views.publish", "response_url"} <= reached, reached
    assert [m for m in target.emulator.messages(CHANNEL) if "&lt;@UCEO&gt;" in m["text"]]


def _new_initiative_from_the_modal(target: Target) -> str:
    def owner(user: str) -> dict[str, Any]:
        return {ids.VALUE: {"type": "users_select", "selected_user": user}}

    values = {
        "title": _typed(f"Churn {HOSTILE}"), "description": _typed(HOSTILE), "problem": _typed(HOSTILE),
        "kpi_name": _typed(HOSTILE), "kpi_baseline": _typed(SHORT), "kpi_target": _typed(SHORT),
        "business_unit": _typed(SHORT), "tags": _typed(SHORT),
        "risk_tier": {ids.VALUE: {"type": "static_select", "selected_option": {"value": "low"}}},
        "owner.business": owner("UMARIA"), "owner.data": owner("UDEV"), "owner.engineering": owner("UERIN"),
        "channel_id": {ids.VALUE: {"type": "conversations_select", "selected_conversation": CHANNEL}},
    }
    response = target.interact(view_submission_payload(ids.NEW_INITIATIVE_MODAL, values, user_id="UMARIA"))
    assert response.status_code == 200, response.text
    notice = str(response.json()["view"]["blocks"])
    assert "Recorded AI-" in notice, notice
    return "AI-" + notice.split("Recorded AI-")[1].split(".")[0]


def _typed(text: str) -> dict[str, Any]:
    return {ids.VALUE: {"type": "plain_text_input", "value": text}}
