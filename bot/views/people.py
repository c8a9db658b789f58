"""People who cannot act: the "reassign needed" message to a sponsor or admin when an owner's Slack account is
deactivated (for each sign-off or re-attestation of theirs, and each open condition), and the modals that pick the
new owner."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, InputBlock, UserSelectElement
from slack_sdk.models.views import View

from bot.views import ids
from bot.views.blocks import Message, finish, section
from bot.views.text import clip, mention, mrkdwn
from storage.models import Initiative, TrackedItem


def reassign_needed(initiative: Initiative, *, role: str, role_name: str, gate_name: str, deactivated: str) -> Message:
    """A pending sign-off (a gate's, or a re-attestation's: its gate name says which) of a deactivated owner."""
    text = (f"Reassign needed: {mention(deactivated)} was deactivated in Slack, and their {role_name} sign-off on "
            f"{initiative.key} {initiative.title} ({gate_name}) waits. They will get no more reminders.")
    waits = (f"Their *{mrkdwn(role_name, 60)}* sign-off on *{initiative.key}* {mrkdwn(initiative.title, 150)} "
             f"({mrkdwn(gate_name, 80)}) waits for a new owner")
    return _reassign_needed(text, deactivated, waits, action_id=ids.REASSIGN_ROLE,
                            value=ids.encode_role(initiative.key, role))


def kpi_reassign_needed(initiative: Initiative, *, role: str, role_name: str, kpi_names: tuple[str, ...],
                        deactivated: str) -> Message:
    """A live initiative whose KPI actuals a deactivated owner (its business owner) is the one asked for."""
    kpis = ", ".join(kpi_names)
    text = (f"Reassign needed: {mention(deactivated)} was deactivated in Slack, and as {role_name} of "
            f"{initiative.key} {initiative.title} they are the one asked for its KPI actuals ({kpis}). They will "
            "be asked no more.")
    waits = (f"As *{mrkdwn(role_name, 60)}* of *{initiative.key}* {mrkdwn(initiative.title, 150)} they are asked "
             f"for its KPI actuals ({mrkdwn(kpis, 300)}), which wait for a new owner")
    return _reassign_needed(text, deactivated, waits, action_id=ids.REASSIGN_ROLE,
                            value=ids.encode_role(initiative.key, role))


def condition_reassign_needed(key: str, initiative: Initiative, item: TrackedItem, *, deactivated: str) -> Message:
    """An open condition (or expired waiver) of a deactivated owner."""
    text = (f"Reassign needed: {mention(deactivated)} was deactivated in Slack, and their {item.kind} {key} on "
            f"{initiative.key} {initiative.title} is still open. They will get no more reminders.")
    waits = (f"Their {item.kind} *{key}* “{mrkdwn(item.text, 300)}” on *{initiative.key}* "
             f"{mrkdwn(initiative.title, 150)} is open and waits for a new owner")
    return _reassign_needed(text, deactivated, waits, action_id=ids.REASSIGN_ITEM,
                            value=ids.encode_item_owner(key, deactivated))


def _reassign_needed(text: str, deactivated: str, waits: str, *, action_id: str, value: str) -> Message:
    blocks = [
        section(f"*Reassign needed* — {mention(deactivated)} was deactivated in Slack.\n{waits}; they get no more "
                "reminders."),
        ActionsBlock(elements=[ButtonElement(text="Reassign…", action_id=action_id, style="primary", value=value)]),
    ]
    return Message(clip(text, 3000), finish(blocks, "message"))


def reassign_modal(initiative: Initiative, *, role: str, role_name: str) -> dict[str, Any]:
    return _reassign_modal(f"Who takes over as *{mrkdwn(role_name, 60)}* of *{initiative.key}* "
                           f"{mrkdwn(initiative.title, 150)}? Pending sign-offs of the role move to them.",
                           callback_id=ids.REASSIGN_MODAL, metadata=ids.encode_role(initiative.key, role))


def condition_reassign_modal(key: str, initiative: Initiative, item: TrackedItem) -> dict[str, Any]:
    return _reassign_modal(f"Who takes over {item.kind} *{key}* “{mrkdwn(item.text, 300)}” on *{initiative.key}* "
                           f"{mrkdwn(initiative.title, 150)}? It stays due on {item.due_on:%a %d %b %Y}.",
                           callback_id=ids.REASSIGN_ITEM_MODAL, metadata=ids.encode_item_owner(key, item.owner))


def _reassign_modal(prompt: str, *, callback_id: str, metadata: str) -> dict[str, Any]:
    blocks = [
        section(prompt),
        InputBlock(block_id=ids.REASSIGN_BLOCK, label="New owner", element=UserSelectElement(action_id=ids.VALUE)),
    ]
    view = View(type="modal", callback_id=callback_id, title="Reassign", submit="Reassign", close="Cancel",
                blocks=finish(blocks, "modal"), private_metadata=metadata)
    return view.to_dict()
