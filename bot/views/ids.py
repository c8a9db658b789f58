"""Every action id, callback id and block id the bot puts into Slack, and the context encoded in them.

Context travels in a button's `value` or a modal's `private_metadata` (never in a module-level cache), and is
decoded by the functions below, which reject anything they did not produce with `StaleForm`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from bot.services.errors import InvalidInput

# Buttons on sign-off DMs and in App Home: value = sign-off id.
APPROVE = "signoff.approve"
APPROVE_WITH_CONDITIONS = "signoff.approve_with_conditions"
REQUEST_CHANGES = "signoff.request_changes"
# "Share to channel" under `/initiative show`: value = initiative key.
SHARE_TO_CHANNEL = "initiative.share"
# "View initiative" on a sign-off DM: opens the initiative's card in a modal; value = initiative key.
VIEW_INITIATIVE = "initiative.view"
# "Decision record" under `/initiative history`: value = initiative key.
DECISION_RECORD = "audit.decision_record"
# Snooze buttons on a nudge DM (bot/views/nudges.py): value = "1d" | "monday".
SNOOZE_BLOCK = "nudge.snooze"
SNOOZE_ONE_DAY = "nudge.snooze_1d"
SNOOZE_UNTIL_MONDAY = "nudge.snooze_monday"
# Buttons on a hold's revisit prompt (bot/views/outcomes.py): value = initiative key.
HOLD_RESUME = "hold.resume"
HOLD_EXTEND = "hold.extend"
HOLD_KILL = "hold.kill"
# "Classify" on an initiative's card and after it is recorded: opens the questionnaire; value = initiative key.
CLASSIFY = "initiative.classify"
# "Record KPI actuals" on a KPI request of the nudge DM (bot/views/nudges.py): opens the KPI modal; value = key.
KPI_RECORD = "kpi.record"
REASSIGN_ROLE = "people.reassign"  # value: `encode_role` (the initiative and the role of a deactivated owner)
REASSIGN_ITEM = "people.reassign_item"  # value: `encode_item_owner` (a deactivated owner's open condition)
# "New initiative" on an admin's App Home: opens the New initiative modal.
NEW_INITIATIVE = "initiative.open_new"
# "See all N" under a list the App Home cuts, and the pages of the modal it opens: value = `desk_page_value`.
DESK_MORE = "desk.more"
DESK_PREVIOUS = "desk.previous"
DESK_WAITING, DESK_INITIATIVES, DESK_STALLED = "waiting", "initiatives", "stalled"  # the lists it pages

# Modal callback ids.
NEW_INITIATIVE_MODAL = "initiative.new"
CHECKLIST_MODAL = "signoff.checklist"
REQUEST_CHANGES_MODAL = "signoff.request_changes"
NOTICE_MODAL = "notice"
DECISION_RECORD_MODAL = "audit.decision_record"
INITIATIVE_MODAL = "initiative.card"
KILL_MODAL = "outcome.kill"
EXTEND_HOLD_MODAL = "outcome.extend_hold"
CLASSIFY_MODAL = "regulation.classify"
KPI_MODAL = "kpi.record"
DESK_MODAL = "desk.page"
REASSIGN_MODAL = "people.reassign_modal"
REASSIGN_ITEM_MODAL = "people.reassign_item_modal"  # private_metadata: `encode_item_owner`

# Input blocks of the New initiative modal: block id -> action id is always VALUE.
VALUE = "value"
NEW_FIELDS = ("title", "description", "problem", "kpi_name", "kpi_baseline", "kpi_target", "risk_tier",
              "channel_id", "tags", "business_unit", "mlflow_model")
OWNER_BLOCK_PREFIX = "owner."

# Input blocks of the checklist modal.
CHECKLIST_BLOCK_PREFIX = "checklist."  # + group number: checkboxes (action TICKED) outside an input block
TICKED = "ticked"
WAIVE_BLOCK = "waive"  # the items waived (multi-select), with one reason for them in WAIVE_REASON_BLOCK
WAIVE_REASON_BLOCK = "waive_reason"
WAIVERS_EXPIRE_BLOCK = "waivers_expire_on"  # a date picker: when the items waived here stop being waived
TARGET_BLOCK = "target_on"  # a date picker: the target date for passing the next gate
COMMENT_BLOCK = "comment"
EVIDENCE_BLOCK = "evidence"
CONDITIONS_BLOCK = "conditions"  # a rich_text_input: one condition per line, `text [@person] [by YYYY-MM-DD]`
REASON_BLOCK = "reason"

# Input blocks of the Kill and Extend hold modals (action VALUE), named after the service's arguments so that a
# refusal shows under its input.
RATIONALE_BLOCK = "rationale"
LESSONS_BLOCK = "lessons"
REVISIT_BLOCK = "revisit_on"
# Input blocks of the KPI modal (action VALUE), named after record_actual's arguments.
KPI_NAME_BLOCK = "kpi_name"
KPI_VALUE_BLOCK = "value"
MEASURED_ON_BLOCK = "measured_on"
NOTE_BLOCK = "note"

# Inputs of the Classify modal: one per question, block id = prefix + question id (radio buttons, action VALUE).
QUESTION_BLOCK_PREFIX = "question."


REASSIGN_BLOCK = "new_owner"


class StaleForm(InvalidInput):
    """A button value or modal metadata this bot did not produce (or no longer understands)."""


@dataclass(frozen=True)
class SignOffModalContext:
    """What a checklist or request-changes modal carries: the sign-off it decides."""

    sign_off_id: int


def sign_off_value(sign_off_id: int) -> str:
    return str(sign_off_id)


def decode_sign_off_value(value: str | None) -> int:
    if not value or not value.isascii() or not value.isdigit() or len(value) > 12:
        raise StaleForm("That button is not one of this bot's sign-off buttons.")
    return int(value)


def encode_modal_context(context: SignOffModalContext) -> str:
    return json.dumps(asdict(context), separators=(",", ":"))


def decode_modal_context(private_metadata: str | None) -> SignOffModalContext:
    try:
        data = json.loads(private_metadata or "")
        context = SignOffModalContext(sign_off_id=int(data["sign_off_id"]))
    except (ValueError, TypeError, KeyError):
        raise StaleForm("This form is out of date; open it again from the sign-off message.") from None
    if isinstance(data["sign_off_id"], bool) or context.sign_off_id <= 0:
        raise StaleForm("This form is out of date; open it again from the sign-off message.")
    return context


@dataclass(frozen=True)
class InitiativeModalContext:
    """What a Kill or Extend hold modal carries: the initiative it decides about."""

    key: str


def initiative_key_value(key: str) -> str:
    return key


def decode_initiative_key(value: str | None) -> str:
    """A key this bot put into a button or a modal (`AI-12`)."""
    text = value or ""
    number = text.removeprefix("AI-")
    if not text.startswith("AI-") or not number.isascii() or not number.isdigit() or len(number) > 12:
        raise StaleForm("That button is not one of this bot's buttons; use `/initiative show <KEY>`.")
    return text


def encode_initiative_context(context: InitiativeModalContext) -> str:
    return json.dumps(asdict(context), separators=(",", ":"))


def decode_initiative_context(private_metadata: str | None) -> InitiativeModalContext:
    try:
        key = json.loads(private_metadata or "")["key"]
    except (ValueError, TypeError, KeyError):
        raise StaleForm("This form is out of date; run the command again.") from None
    return InitiativeModalContext(key=decode_initiative_key(key if isinstance(key, str) else None))


def checklist_block_id(group: int) -> str:
    return f"{CHECKLIST_BLOCK_PREFIX}{group}"


def owner_block_id(role: str) -> str:
    return f"{OWNER_BLOCK_PREFIX}{role}"


@dataclass(frozen=True)
class ClassifyModalContext:
    """What the Classify modal carries: the initiative, and the questionnaire version its questions come from."""

    key: str
    version: int


def encode_classify_context(context: ClassifyModalContext) -> str:
    return json.dumps(asdict(context), separators=(",", ":"))


def decode_classify_context(private_metadata: str | None) -> ClassifyModalContext:
    try:
        data = json.loads(private_metadata or "")
        key, version = data["key"], data["version"]
    except (ValueError, TypeError, KeyError):
        raise StaleForm("This form is out of date; run `/initiative classify` again.") from None
    if not isinstance(version, int) or isinstance(version, bool) or version <= 0:
        raise StaleForm("This form is out of date; run `/initiative classify` again.")
    return ClassifyModalContext(key=decode_initiative_key(key if isinstance(key, str) else None), version=version)


def question_block_id(question_id: str) -> str:
    return f"{QUESTION_BLOCK_PREFIX}{question_id}"


def encode_role(key: str, role: str) -> str:
    """`AI-12:business`: an initiative's role, in a button's value or a modal's metadata."""
    return f"{key}:{role}"


def encode_item_owner(key: str, owner: str) -> str:
    """`AI-12-C1:U123`: a condition and the (deactivated) owner it is taken from, in a button's value or a modal's
    metadata."""
    return f"{key}:{owner}"


def decode_item_owner(value: str | None) -> tuple[str, str]:
    key, _, owner = (value or "").partition(":")
    if not key or not owner:
        raise StaleForm("This form is from an older version of the bot; open it again.")
    return key, owner


def decode_role(value: str | None) -> tuple[str, str]:
    key, _, role = (value or "").partition(":")
    if not role:
        raise StaleForm("This form is from an older version of the bot; open it again.")
    return decode_initiative_key(key), role


@dataclass(frozen=True)
class DeskPage:
    """A page of one of the App Home's lists: which list, from which entry."""

    list_id: str  # DESK_WAITING | DESK_INITIATIVES | DESK_STALLED
    offset: int


def desk_page_value(page: DeskPage) -> str:
    return f"{page.list_id}:{page.offset}"


def decode_desk_page(value: str | None) -> DeskPage:
    list_id, _, offset = (value or "").partition(":")
    if list_id not in (DESK_WAITING, DESK_INITIATIVES, DESK_STALLED) or not offset.isascii() \
            or not offset.isdigit() or len(offset) > 6:
        raise StaleForm("That button is not one of this bot's buttons; open the App Home again.")
    return DeskPage(list_id, int(offset))
