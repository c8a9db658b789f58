"""Modals: New initiative, the sign-off checklist, Request changes, and a notice that explains a refusal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConversationFilter,
    ConversationSelectElement,
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RichTextInputElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.services.gates.service import ChecklistItem, GateCatalog
from bot.services.kpis.service import Standing
from bot.services.validation import (
    BUSINESS_UNIT,
    COMMENT,
    DESCRIPTION,
    EVIDENCE_LINKS,
    KPI_BASELINE,
    KPI_NAME,
    KPI_TARGET,
    MLFLOW_MODEL,
    PROBLEM,
    REASON,
    TAGS,
    TITLE,
    TextField,
)
from bot.views import ids
from bot.views.blocks import context, finish, section
from bot.views.conditions import ConditionView
from bot.views.messages import AUTOMATIC_OUTCOMES, SignOffCard
from bot.views.replies import NextTarget, initiative_card_blocks
from bot.views.text import PLAIN_MAX, clip, escape_keeping_mentions, mrkdwn
from storage.models import GateReview, Initiative, InitiativeClassification, InitiativeOutcome, SignOff

CHECKBOX_GROUP = 10  # Slack's limit of options in one checkbox group
TITLE_MAX = 24  # modal titles
INPUT_LABEL_MAX = 2000


def new_initiative(catalog: GateCatalog, *, risk_tiers: Sequence[str], channel_id: str = "") -> dict[str, Any]:
    def text_input(field: TextField, label: str, *, multiline: bool = False, optional: bool = True,
                   placeholder: str | None = None) -> InputBlock:
        return InputBlock(block_id=field.name, label=label, optional=optional, element=PlainTextInputElement(
            action_id=ids.VALUE, multiline=multiline, max_length=field.limit, placeholder=placeholder))

    risk_options = [Option(value=tier, label=tier.capitalize()) for tier in risk_tiers]
    blocks: list[Block] = [
        text_input(TITLE, "Title", optional=False, placeholder="Churn prediction for retail"),
        text_input(DESCRIPTION, "Description", multiline=True),
        text_input(PROBLEM, "Business problem", multiline=True),
        text_input(KPI_NAME, "KPI", placeholder="Monthly churn rate"),
        text_input(KPI_BASELINE, "KPI baseline", placeholder="4.2%"),
        text_input(KPI_TARGET, "KPI target", placeholder="3.5%"),
        InputBlock(block_id="risk_tier", label="Risk tier", element=StaticSelectElement(
            action_id=ids.VALUE, options=risk_options,
            initial_option=next((o for o in risk_options if o.value == "medium"), risk_options[0]))),
    ]
    blocks += [
        InputBlock(block_id=ids.owner_block_id(role.id), label=clip(role.name, INPUT_LABEL_MAX), optional=True,
                   element=UserSelectElement(action_id=ids.VALUE, placeholder="Choose a person"))
        for role in catalog.roles.values()
    ]
    blocks += [
        InputBlock(block_id="channel_id", label="Channel for announcements", optional=True,
                   element=ConversationSelectElement(
                       action_id=ids.VALUE, filter=ConversationFilter(include=["public", "private"]),
                       initial_conversation=channel_id if channel_id.startswith(("C", "G")) else None)),
        text_input(TAGS, "Tags", placeholder="comma, separated"),
        text_input(BUSINESS_UNIT, "Team", placeholder="Retail analytics"),
        text_input(MLFLOW_MODEL, "MLflow registered model", placeholder="churn-classifier"),
    ]
    return _modal(ids.NEW_INITIATIVE_MODAL, "New initiative", blocks, submit="Create")


def checklist(card: SignOffCard, *, comment: str = "", with_conditions: bool = False) -> dict[str, Any]:
    """Tick each item that is done; waive one only by choosing it under "Waive items", with a reason.

    The ticks are checkboxes outside any input block, in groups of at most 10 (Slack's limit): an optional input
    would be labelled "(optional)", and a required one could not be left empty when every item is waived. Slack
    still hands their state in with the submission. Whether each item is ticked or waived with a reason is the
    service's rule (`reviews.approve`); its refusals come back under the waiver inputs."""
    items = card.checklist
    blocks: list[Block] = [section(f"*{card.initiative.key}* {mrkdwn(card.initiative.title, 150)}\n"
                                   f"{mrkdwn(card.gate_name, 150)} · your role: {mrkdwn(card.role_name, 100)}")]
    if not items:
        blocks.append(section("Your role has nothing to check at this gate."))
    else:
        blocks.append(section("*Your checklist:* tick each item that is done."))
    passed = {item_id for item_id, (outcome, _) in card.automatic_results.items() if outcome == "passed"}
    for number, start in enumerate(range(0, len(items), CHECKBOX_GROUP)):
        group = _options(items[start:start + CHECKBOX_GROUP])
        blocks.append(ActionsBlock(block_id=ids.checklist_block_id(number), elements=[CheckboxesElement(
            action_id=ids.TICKED, options=group, initial_options=[o for o in group if o.value in passed] or None)]))
    checked = [f"{AUTOMATIC_OUTCOMES[outcome]} “{mrkdwn(item.label, 100)}”: {mrkdwn(evidence, 300)}"
               for item in items if item.id in card.automatic_results
               for outcome, evidence in [card.automatic_results[item.id]]]
    if checked:
        blocks.append(context(clip("Checked automatically (passed items are ticked for you):\n" + "\n".join(checked),
                                   3000)))
    if items:
        # A re-attestation's "no": an item the owner cannot confirm is given, with why, where a gate's is waived;
        # it flags the initiative At risk (bot/services/attestation).
        waive, why, hint, placeholder, reason_hint = (
            ("Items you cannot confirm", "What is wrong",
             "Answering no flags the initiative At risk; the sponsor and the admins are told.",
             "Choose items you answer no to", "Needed when you answer no; it is kept in the initiative's audit trail.")
            if card.is_reattestation else
            ("Waive items", "Why they do not apply",
             "Only an item that does not apply here. Every other item must be ticked.",
             "Choose items that do not apply",
             "Needed when you waive an item; it is kept in the initiative's audit trail."))
        blocks += [
            InputBlock(block_id=ids.WAIVE_BLOCK, label=waive, optional=True, hint=hint,
                       element=StaticMultiSelectElement(action_id=ids.VALUE, options=_options(items),
                                                        placeholder=placeholder)),
            InputBlock(block_id=ids.WAIVE_REASON_BLOCK, label=why, optional=True, hint=reason_hint,
                       element=PlainTextInputElement(action_id=ids.VALUE, multiline=True, max_length=REASON.limit)),
        ]
    dates = card.dates
    if items and dates:
        blocks.append(InputBlock(
            block_id=ids.WAIVERS_EXPIRE_BLOCK, label="Waivers expire on", optional=True,
            hint="The items you waive must be met by then, or waived again; you are reminded 5 business days "
                 "before.",
            element=DatePickerElement(action_id=ids.VALUE, initial_date=dates.waivers_expire_on.isoformat())))
    if dates and dates.next_gate_name:
        blocks.append(InputBlock(
            block_id=ids.TARGET_BLOCK, label=clip(f"Target date for {dates.next_gate_name}", INPUT_LABEL_MAX),
            optional=True, hint="When the initiative should pass its next gate; the digest lists those past it. "
                                "The earliest date the approvers set counts.",
            element=DatePickerElement(action_id=ids.VALUE, placeholder="Pick a date",
                                      initial_date=dates.target_on.isoformat() if dates.target_on else None)))
    blocks += [
        InputBlock(block_id=ids.COMMENT_BLOCK, label="Comment", optional=True, element=PlainTextInputElement(
            action_id=ids.VALUE, multiline=True, max_length=COMMENT.limit,
            initial_value=clip(comment, COMMENT.limit) or None)),
        InputBlock(block_id=ids.EVIDENCE_BLOCK, label="Evidence links", optional=True,
                   hint="One link per line, starting with https://", element=PlainTextInputElement(
                       action_id=ids.VALUE, multiline=True, max_length=EVIDENCE_LINKS.limit)),
    ]
    if not card.is_reattestation:  # a re-attestation confirms or flags; it sets no conditions
        # Rich text, since a condition's person is a real mention, which a plain-text input cannot carry.
        blocks.append(InputBlock(
            block_id=ids.CONDITIONS_BLOCK, label="Conditions", optional=not with_conditions,
            hint="One per line: what must be done [@person] [by YYYY-MM-DD]. No person: you; no date: the "
                 f"gate's {card.condition_days} business days. The initiative advances now; each condition "
                 "is tracked until met.",
            element=RichTextInputElement(action_id=ids.VALUE, focus_on_load=with_conditions,
                                         placeholder="Retraining pipeline in place @someone by 2027-03-15")))
    metadata = ids.encode_modal_context(ids.SignOffModalContext(sign_off_id=card.sign_off.id))
    title, submit = (("Re-attest", "Send answers") if card.is_reattestation
                     else ("Approve with conditions", "Approve") if with_conditions
                     else ("Approve sign-off", "Approve"))
    return _modal(ids.CHECKLIST_MODAL, title, blocks, submit=submit, private_metadata=metadata)


def _options(items: Sequence[ChecklistItem]) -> list[Option]:
    return [Option(value=item.id, text=PlainTextObject(text=clip(item.label, PLAIN_MAX))) for item in items]


def initiative_card(initiative: Initiative, *, owners: Mapping[str, str], catalog: GateCatalog,
                    review: GateReview | None, sign_offs: Sequence[SignOff], deadlines: Mapping[int, datetime],
                    reader_zone: ZoneInfo | None, standing: InitiativeOutcome | None = None,
                    classification: InitiativeClassification | None = None,
                    after_go_live: Sequence[str] = (),
                    conditions: Sequence[ConditionView] = (),
                    waiting_on: Mapping[str, int] | None = None,
                    next_target: NextTarget | None = None,
                    kpis: Sequence[Standing] = ()) -> dict[str, Any]:
    """The initiative's card, read-only, where "View initiative" on a sign-off DM opens it."""
    blocks = initiative_card_blocks(initiative, owners=owners, catalog=catalog, review=review, sign_offs=sign_offs,
                                    deadlines=deadlines, reader_zone=reader_zone, standing=standing,
                                    classification=classification, after_go_live=after_go_live,
                                    conditions=conditions, waiting_on=waiting_on, next_target=next_target, kpis=kpis)
    return _modal(ids.INITIATIVE_MODAL, f"Initiative {initiative.key}", blocks, close="Close")


def request_changes(card: SignOffCard) -> dict[str, Any]:
    blocks: list[Block] = [
        section(f"*{card.initiative.key}* {mrkdwn(card.initiative.title, 150)}\n{mrkdwn(card.gate_name, 150)}\n"
                + ("Answering no closes this re-attestation and flags the initiative At risk; the sponsor and the "
                   "admins are told." if card.is_reattestation else
                   "Requesting changes closes this review; the owners resubmit when it is ready.")),
        InputBlock(block_id=ids.REASON_BLOCK, label="What can you not confirm, and why?" if card.is_reattestation
                   else "What needs to change?", element=PlainTextInputElement(
                       action_id=ids.VALUE, multiline=True, max_length=REASON.limit)),
    ]
    metadata = ids.encode_modal_context(ids.SignOffModalContext(sign_off_id=card.sign_off.id))
    title, submit = ("Cannot confirm", "Answer no") if card.is_reattestation else ("Request changes", "Send back")
    return _modal(ids.REQUEST_CHANGES_MODAL, title, blocks, submit=submit, private_metadata=metadata)


def notice(message: str, *, title: str = "Initiative Bot", buttons: Sequence[ButtonElement] = ()) -> dict[str, Any]:
    """A refusal or an outcome explained where App Home and modals have no response_url to answer through;
    `buttons`: what to do next (each opens its own modal on top)."""
    blocks: list[Block] = [section(escape_keeping_mentions(message))]
    if buttons:
        blocks.append(ActionsBlock(elements=list(buttons)))
    return _modal(ids.NOTICE_MODAL, title, blocks, close="OK")


def _modal(callback_id: str, title: str, blocks: Sequence[Block], *, submit: str | None = None,
           close: str = "Cancel", private_metadata: str | None = None) -> dict[str, Any]:
    view = View(type="modal", callback_id=callback_id, title=clip(title, TITLE_MAX), submit=submit, close=close,
                blocks=finish(blocks, "modal"), private_metadata=private_metadata)
    return view.to_dict()
