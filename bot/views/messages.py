"""Messages the bot sends on its own: sign-off request DMs (and their decided form), news for the other owners,
and the gate-passed announcement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.services.gates.service import ChecklistItem
from bot.services.reviews.service import REATTESTATION, DecisionDates
from bot.views import ids
from bot.views import kpis as kpi_views
from bot.views.blocks import Message, context, fields, finish, header, section
from bot.views.text import escape, mention, mrkdwn, plain_date, slack_date
from storage.models import GateReview, Initiative, Kpi, SignOff

EVIDENCE_SHOWN = 10
_DECISION_WORDS = {"approved": "approved", "waived": "waived", "changes_requested": "requested changes on"}
_OUTCOMES = {"approved": ("✅", "Approved"), "waived": ("☑️", "Waived"),
             "changes_requested": ("↩️", "Changes requested")}
AUTOMATIC_OUTCOMES = {"passed": "✅ passed", "failed": "❌ failed", "unknown": "⚠️ could not check",
                      "pending": "⏳ not checked yet"}


@dataclass(frozen=True)
class SignOffCard:
    """Everything a sign-off request shows, gathered by the caller."""

    initiative: Initiative
    review: GateReview
    sign_off: SignOff
    gate_name: str
    from_stage_name: str
    to_stage_name: str
    role_name: str
    checklist: tuple[ChecklistItem, ...]
    due_at: datetime  # the sign-off's deadline (bot.services.reviews.deadlines): the same instant everywhere
    reader_zone: ZoneInfo  # the assignee's, which the DM's fallback times are given in
    evidence_links: tuple[str, ...] = ()
    # Links whose last check found them broken or refused to fetch them: URL -> what was found.
    broken_links: Mapping[str, str] = field(default_factory=dict)
    # Automatic (MLflow) items: item id -> (outcome: pending|passed|failed|unknown, evidence).
    automatic_results: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # The dates the checklist modal offers (waivers' expiry, the next gate's target); None: not asked.
    dates: DecisionDates | None = None
    condition_days: int = 10  # the gate's: what a condition given no date has

    @property
    def is_reattestation(self) -> bool:
        """A stage's periodic re-attestation (bot/services/attestation), asked in the words of confirming."""
        return self.review.kind == REATTESTATION

    @property
    def asked(self) -> str:
        return "Re-attestation requested" if self.is_reattestation else "Sign-off requested"
    kpi: Kpi | None = None  # the initiative's first KPI


def sign_off_request(card: SignOffCard) -> Message:
    """The DM asking one owner to sign off, with Approve, Approve with conditions, Request changes and View
    initiative (its card)."""
    value = ids.sign_off_value(card.sign_off.id)
    approve, send_back = ("Confirm", "Cannot confirm") if card.is_reattestation else ("Approve", "Request changes")
    buttons = ActionsBlock(block_id="sign_off", elements=[
        ButtonElement(text=approve, action_id=ids.APPROVE, value=value, style="primary"),
        *([] if card.is_reattestation else [ButtonElement(
            text="Approve with conditions", action_id=ids.APPROVE_WITH_CONDITIONS, value=value)]),
        ButtonElement(text=send_back, action_id=ids.REQUEST_CHANGES, value=value, style="danger"),
        ButtonElement(text="View initiative", action_id=ids.VIEW_INITIATIVE, value=card.initiative.key),
    ])
    text = (f"{card.asked}: {card.initiative.key} {mrkdwn(card.initiative.title, 150)} — "
            f"{escape(card.gate_name)}, as {escape(card.role_name)}, due {plain_date(card.due_at, card.reader_zone)}. "
            + (f"{approve} or {send_back.lower()} in Slack." if card.is_reattestation
               else "Approve, approve with conditions or request changes in Slack."))
    return Message(text=text, blocks=finish([*_card_blocks(card), buttons], "message"))


MAX_CONDITIONS_SHOWN = 20  # an approval sets at most 20 (bot.services.tracked_items.conditions)


def sign_off_decided(card: SignOffCard, *, moved_to: str | None = None) -> Message:
    """The same DM once it is settled: the outcome shows and the buttons go."""
    outcome = outcome_line(card.sign_off, card.review, moved_to=moved_to)
    text = (f"{card.initiative.key} {mrkdwn(card.initiative.title, 150)} — {escape(card.gate_name)}: "
            f"{outcome_text(card.sign_off, moved_to)}")
    return Message(text=text, blocks=finish([*_card_blocks(card), section(outcome)], "message"))


def outcome_line(sign_off: SignOff, review: GateReview, *, moved_to: str | None = None) -> str:
    """The settled DM's last block: who decided what, and when (in the reader's time zone)."""
    if moved_to:
        return f"➡️ This sign-off moved to {mention(moved_to)}."
    if sign_off.state in _OUTCOMES and sign_off.decided_at is not None:
        mark, label = _OUTCOMES[sign_off.state]
        with_conditions = " with conditions" if sign_off.conditions else ""
        line = f"{mark} {label}{with_conditions} by {mention(sign_off.decided_by)} {slack_date(sign_off.decided_at)}"
        conditions = "".join(
            f"\n• {mrkdwn(str(c.get('text', '')), 200)} — {mention(c.get('owner'))}"
            + (f", by {c['due_on']}" if c.get("due_on") else ", by the gate's default date")
            for c in sign_off.conditions[:MAX_CONDITIONS_SHOWN])
        return line + conditions + (f"\n> {mrkdwn(sign_off.comment, 1000)}" if sign_off.comment else "")
    if sign_off.state == "cancelled":
        why = {"changes_requested": "changes were requested", "passed": "the gate passed"}.get(
            review.state, mrkdwn(review.close_reason or "the review was closed", 300))
        return f"✖️ No longer needed: {why}."
    return "⏳ Waiting for your decision."


def outcome_text(sign_off: SignOff, moved_to: str | None = None) -> str:
    """The same outcome in plain text, for notifications."""
    if moved_to:
        return f"moved to <@{moved_to}>"
    if sign_off.state in _OUTCOMES and sign_off.decided_at is not None:
        label = _OUTCOMES[sign_off.state][1].lower()
        return f"{label} by <@{sign_off.decided_by}> on {plain_date(sign_off.decided_at)}"
    return "no longer needed; the review was closed"


def already_decided(initiative: Initiative, sign_off: SignOff, role_name: str) -> str:
    """What a click on an outdated DM answers: `AI-3's Data owner sign-off was already approved by @x on …`."""
    if sign_off.state in _OUTCOMES and sign_off.decided_at is not None:
        label = _OUTCOMES[sign_off.state][1].lower()
        return (f"{initiative.key}'s {role_name} sign-off was already {label} by <@{sign_off.decided_by}> "
                f"on {slack_date(sign_off.decided_at)}.")
    return f"{initiative.key}'s {role_name} sign-off is no longer needed; the review was closed."


def decision_news(initiative: Initiative, *, decider: str, role_name: str, decision: str, gate_name: str,
                  settled: int, required: int, comment: str | None) -> Message:
    """What the other owners of a review hear when one of them decides."""
    verb = _DECISION_WORDS.get(decision, decision)
    title = f"*{initiative.key}* {mrkdwn(initiative.title, 150)}"
    if decision == "changes_requested":
        line = (f"{mention(decider)} {verb} {title} ({escape(role_name)}), so the {escape(gate_name)} review is "
                "closed and your sign-off is no longer needed.")
    else:
        line = (f"{mention(decider)} {verb} the {escape(role_name)} sign-off on {title}: "
                f"{settled} of {required} sign-offs in for {escape(gate_name)}.")
    blocks: list[Block] = [section(line)]
    if comment:
        blocks.append(context(f"“{mrkdwn(comment, 500)}”"))
    text = (f"<@{decider}> {verb} the {escape(role_name)} sign-off on {initiative.key} {mrkdwn(initiative.title, 150)} "
            f"({settled} of {required} in).")
    return Message(text=text, blocks=finish(blocks, "message"))


def gate_passed(initiative: Initiative, *, gate_name: str, to_stage_name: str, approvers: Sequence[str]) -> Message:
    title = f"*{initiative.key}* {mrkdwn(initiative.title, 150)}"
    signed = ", ".join(mention(u) for u in approvers) or "nobody"
    blocks = [section(f"🎉 {title} passed *{escape(gate_name)}* and is now in *{escape(to_stage_name)}*."),
              context(f"Signed off by {signed}. `/initiative show {initiative.key}` for details.")]
    text = (f"{initiative.key} {mrkdwn(initiative.title, 150)} passed {escape(gate_name)} and is now in "
            f"{escape(to_stage_name)}.")
    return Message(text=text, blocks=finish(blocks, "message"))


def _card_blocks(card: SignOffCard) -> list[Block]:
    initiative = card.initiative
    kpi = kpi_views.definition(card.kpi)
    blocks: list[Block] = [header(f"{card.asked}: {initiative.key} · {initiative.title}")]
    if initiative.description:
        blocks.append(section(mrkdwn(initiative.description, 600)))
    blocks.append(fields([
        ("Re-attestation", f"in {escape(card.from_stage_name)}, on its schedule") if card.is_reattestation else
        ("Gate", f"{escape(card.gate_name)} ({escape(card.from_stage_name)} → {escape(card.to_stage_name)})"),
        ("Your role", escape(card.role_name)),
        ("KPI", kpi),
        ("Risk tier", initiative.risk_tier),
        ("Requested by", "the bot" if card.is_reattestation else mention(card.review.opened_by)),
        ("Requested", slack_date(card.sign_off.requested_at, zone=card.reader_zone)),
        *([("Due", slack_date(card.due_at, zone=card.reader_zone))] if card.sign_off.state == "pending" else []),
    ]))
    items = "\n".join(_checklist_line(item, card.automatic_results.get(item.id)) for item in card.checklist)
    blocks.append(section(f"*Your checklist*\n{items or 'Nothing to check for your role.'}"))
    blocks.append(section(f"*Evidence*\n{evidence_lines(card.evidence_links, card.broken_links)}"))
    return blocks


def _checklist_line(item: ChecklistItem, automatic: tuple[str, str] | None) -> str:
    """One item; an automatic one with what the bot found. Why MLflow could not be asked is left to the Approve
    modal: it differs between retries, and the DM is updated whenever what it shows changes."""
    line = f"• {mrkdwn(item.label, 200)}"
    if automatic is None:
        return line
    outcome, evidence = automatic
    line += f" — {AUTOMATIC_OUTCOMES[outcome]}"
    return line + (f": {mrkdwn(evidence, 150)}" if evidence and outcome in ("passed", "failed") else "")


def evidence_lines(links: Sequence[str], broken: Mapping[str, str] | None = None) -> str:
    if not links:
        return "No evidence links yet."
    broken = broken or {}
    shown = [f"• <{escape(link).replace('|', '%7C')}|{mrkdwn(link, 80)}>"
             + (f" :warning: _broken: {mrkdwn(broken[link], 80)}_" if link in broken else "")
             for link in links[:EVIDENCE_SHOWN]]
    if len(links) > EVIDENCE_SHOWN:
        shown.append(f"…and {len(links) - EVIDENCE_SHOWN} more")
    return "\n".join(shown)
