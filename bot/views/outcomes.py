"""Hold, Recycle and Kill in Slack: the owners' news, the sponsor's revisit prompt, the Kill and Extend hold
modals, and the private replies. Pure builders: data in, blocks out."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DatePickerElement,
    InputBlock,
    PlainTextInputElement,
)
from slack_sdk.models.views import View

from bot.services.outcomes.scheduled import RevisitDue
from bot.services.outcomes.service import LESSONS, RATIONALE
from bot.services.validation import REASON
from bot.views import ids
from bot.views.blocks import Message, context, finish, section
from bot.views.text import clip, mention, mrkdwn
from storage.models import Initiative, InitiativeOutcome

TITLE_MAX = 24


def day(value: date | None) -> str:
    """A calendar date, the same for every reader (a revisit date is a day, not a moment)."""
    return value.strftime("%a %d %b %Y") if value else "?"


def outcome_news(initiative: Initiative, outcome: InitiativeOutcome, *, what: str, actor: str, stage_name: str,
                 to_stage_name: str | None = None) -> Message:
    """The DM each owner gets when their initiative is held, its hold extended, recycled or killed."""
    name = f"*{initiative.key}* {mrkdwn(initiative.title, 150)}"
    reason = mrkdwn(outcome.reason, 1500)
    if what == "held":
        line = f"{name} is on hold until {day(outcome.revisit_on)}, by {mention(actor)}: {reason}"
        more = "Any open review was cancelled. Its sponsor will be asked on that date to resume, extend or kill it."
    elif what == "hold_extended":
        line = f"The hold of {name} is extended to {day(outcome.revisit_on)} by {mention(actor)}."
        more = f"Held because: {reason}"
    elif what == "recycled":
        line = f"{name} is recycled from {mrkdwn(stage_name, 60)} to {mrkdwn(to_stage_name, 60)} by {mention(actor)}."
        more = (f"What must be redone: {reason}\nAny open review was cancelled; submit it again when the work is "
                f"done (`/initiative submit {initiative.key}`).")
    else:
        line = f"{name} is killed by {mention(actor)}: {reason}"
        more = (f"What we learned: {mrkdwn(outcome.lessons, 1500)}\n" if outcome.lessons else "") + (
            f"Its history stays: `/initiative history {initiative.key}`.")
    fallback = {"held": "is on hold", "hold_extended": "stays on hold longer", "recycled": "is recycled",
                "killed": "is killed"}[what]
    return Message(text=f"{initiative.key} {clip(initiative.title, 150)} {fallback}.",
                   blocks=finish([section(line), context(more)], "message"))


def revisit_prompt(due: RevisitDue) -> Message:
    """To the sponsor on the revisit date: resume, extend the hold, or kill."""
    value = ids.initiative_key_value(due.key)
    blocks: list[Block] = [
        section(f"*{due.key}* {mrkdwn(due.title, 150)} has been on hold since {day(due.held_on)}, until today "
                f"({day(due.revisit_on)}). Time to decide: resume it, hold it longer, or kill it."),
        context(f"Held by {mention(due.held_by)} in {mrkdwn(due.stage_name, 60)}: {mrkdwn(due.reason, 1500)}"),
        ActionsBlock(block_id=f"hold.{due.key}", elements=[
            ButtonElement(text="Resume", action_id=ids.HOLD_RESUME, value=value, style="primary"),
            ButtonElement(text="Extend hold", action_id=ids.HOLD_EXTEND, value=value),
            ButtonElement(text="Kill", action_id=ids.HOLD_KILL, value=value, style="danger"),
        ]),
    ]
    return Message(text=f"{due.key} {clip(due.title, 150)}: its hold ends today. Resume, extend or kill it?",
                   blocks=finish(blocks, "message"))


def revisit_decided(initiative: Initiative, decision: str, *, by: str, revisit_on: date | None = None) -> Message:
    """A revisit prompt once the hold is decided, wherever that was (`decision`: extended, or the initiative's new
    status): what was decided and by whom, without buttons."""
    name = f"*{initiative.key}* {mrkdwn(initiative.title, 150)}"
    if decision == "extended":
        line = f"The hold of {name} was extended to {day(revisit_on)} by {mention(by)}. You will be asked again then."
    elif decision == "active":
        line = f"{name} is active again: its hold was ended by {mention(by)}."
    else:
        line = f"{name} was {decision} by {mention(by)}; its hold is over."
    return Message(text=f"{initiative.key} {clip(initiative.title, 150)}: its hold was decided.",
                   blocks=finish([section(line)], "message"))


def kill_modal(initiative: Initiative, *, rationale: str = "") -> dict[str, Any]:
    blocks: list[Block] = [
        section(f"*{initiative.key}* {mrkdwn(initiative.title, 150)}\nKilling stops it for good and tells its "
                "owners. Nothing is deleted: its history, audit trail and decision record keep everything."),
        InputBlock(block_id=ids.RATIONALE_BLOCK, label="Why is it killed?", element=PlainTextInputElement(
            action_id=ids.VALUE, multiline=True, max_length=RATIONALE.limit,
            initial_value=clip(rationale, RATIONALE.limit) or None)),
        InputBlock(block_id=ids.LESSONS_BLOCK, label="What we learned", optional=True,
                   hint="Kept in the decision record and shown in the weekly digest.",
                   element=PlainTextInputElement(action_id=ids.VALUE, multiline=True, max_length=LESSONS.limit)),
    ]
    return _modal(ids.KILL_MODAL, f"Kill {initiative.key}", blocks, submit="Kill", key=initiative.key)


def extend_hold_modal(initiative: Initiative, *, revisit_on: date | None) -> dict[str, Any]:
    blocks: list[Block] = [
        section(f"*{initiative.key}* {mrkdwn(initiative.title, 150)}"
                + (f"\nOn hold until {day(revisit_on)}." if revisit_on else "")),
        InputBlock(block_id=ids.REVISIT_BLOCK, label="Revisit on", element=DatePickerElement(action_id=ids.VALUE)),
        InputBlock(block_id=ids.REASON_BLOCK, label="Why longer?", optional=True, element=PlainTextInputElement(
            action_id=ids.VALUE, max_length=REASON.limit)),
    ]
    return _modal(ids.EXTEND_HOLD_MODAL, "Extend hold", blocks, submit="Extend", key=initiative.key)


def held_reply(initiative: Initiative, outcome: InitiativeOutcome) -> str:
    return (f"*{initiative.key}* is on hold until {day(outcome.revisit_on)}. Its owners have been told; its "
            f"sponsor will be asked that day to resume, extend or kill it.")


def recycled_reply(initiative: Initiative, *, to_stage_name: str) -> str:
    return (f"*{initiative.key}* is back in {mrkdwn(to_stage_name, 60)}. Its owners have been told what must be "
            f"redone; `/initiative submit {initiative.key}` when it is.")


def killed_text(initiative: Initiative) -> str:
    return f"{initiative.key} is killed. Its owners have been told; its history and decision record keep everything."


def resumed_text(key: str, *, by: str) -> str:
    return f"{key} is active again: its hold was ended by {mention(by)}."


def extended_text(initiative: Initiative, outcome: InitiativeOutcome) -> str:
    return f"The hold of {initiative.key} is extended to {day(outcome.revisit_on)}."


def _modal(callback_id: str, title: str, blocks: list[Block], *, submit: str, key: str) -> dict[str, Any]:
    metadata = ids.encode_initiative_context(ids.InitiativeModalContext(key=key))
    view = View(type="modal", callback_id=callback_id, title=clip(title, TITLE_MAX), submit=submit, close="Cancel",
                blocks=finish(blocks, "modal"), private_metadata=metadata)
    return view.to_dict()
