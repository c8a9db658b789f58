"""People who cannot act: the "reassign needed" message to a sponsor or admin when an owner's Slack account is
deactivated, and the modal that picks the new owner."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, InputBlock, UserSelectElement
from slack_sdk.models.views import View

from bot.views import ids
from bot.views.blocks import Message, finish, section
from bot.views.text import clip, mention, mrkdwn
from storage.models import Initiative


def reassign_needed(initiative: Initiative, *, role: str, role_name: str, gate_name: str, deactivated: str) -> Message:
    text = (f"Reassign needed: {mention(deactivated)} was deactivated in Slack, and their {role_name} sign-off on "
            f"{initiative.key} {initiative.title} ({gate_name}) waits. They will get no more reminders.")
    blocks = [
        section(f"*Reassign needed* — {mention(deactivated)} was deactivated in Slack.\nTheir *{mrkdwn(role_name, 60)}*"
                f" sign-off on *{initiative.key}* {mrkdwn(initiative.title, 150)} ({mrkdwn(gate_name, 80)}) waits for "
                "a new owner; they get no more reminders."),
        ActionsBlock(elements=[ButtonElement(text="Reassign…", action_id=ids.REASSIGN_ROLE, style="primary",
                                             value=ids.encode_role(initiative.key, role))]),
    ]
    return Message(clip(text, 3000), finish(blocks, "message"))


def reassign_modal(initiative: Initiative, *, role: str, role_name: str) -> dict[str, Any]:
    blocks = [
        section(f"Who takes over as *{mrkdwn(role_name, 60)}* of *{initiative.key}* {mrkdwn(initiative.title, 150)}? "
                "Pending sign-offs of the role move to them."),
        InputBlock(block_id=ids.REASSIGN_BLOCK, label="New owner", element=UserSelectElement(action_id=ids.VALUE)),
    ]
    view = View(type="modal", callback_id=ids.REASSIGN_MODAL, title="Reassign", submit="Reassign", close="Cancel",
                blocks=finish(blocks, "modal"), private_metadata=ids.encode_role(initiative.key, role))
    return view.to_dict()
