"""The decision record in a private modal: the same content as `initiative-bot audit record` (pure builders)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.services.audit.service import PSEUDONYM_PREFIX
from bot.services.reviews.service import (
    DecisionRecord,
    GateRecord,
    Signature,
    classification_lines,
    condition_record_line,
    outcome_line,
)
from bot.views import ids
from bot.views.blocks import MAX_BLOCKS, context, divider, finish, header, section
from bot.views.text import clip, escape, mention

TITLE = "Decision record"
_STATUS_MARKS = {"ticked": "☑", "not decided": "☐"}


def building(key: str) -> dict[str, Any]:
    """Shown at once, while the record is built and the chain verified (which can take longer than Slack waits)."""
    return _modal([section(f"Building the decision record of *{escape(key)}* and verifying the audit chain…")])


def decision_record_modal(record: DecisionRecord) -> dict[str, Any]:
    blocks: list[Block] = [
        header(f"{record.key} {record.title}"),
        section(f"*Stage:* {escape(record.current_stage)} ({escape(record.status)}) · *Risk:* "
                f"{escape(record.risk_tier)} · *Gate definitions:* v{record.current_definition_version}"),
        context(("✅ " if record.chain_verifies else "⚠️ ") + escape(record.chain_summary)),
    ]
    if record.classifications:  # the standing one: the full history is in the CLI's record
        blocks.append(section("*Risk classification* (a screening aid, not legal advice)\n" + "\n".join(
            escape(line) for line in classification_lines(record.classifications[-1]))))
    if record.outcomes:
        blocks.append(section("*Hold, recycle and kill decisions*\n"
                              + "\n".join(escape(outcome_line(outcome)) for outcome in record.outcomes)))
    if record.conditions:
        blocks.append(section("*Conditions*\n" + "\n".join(
            escape(condition_record_line(condition)) for condition in record.conditions)))
    if not record.gates:
        blocks.append(section("No gate review yet."))
    for gate in record.gates:
        blocks += [divider(), *_gate_blocks(gate)]
    limit = MAX_BLOCKS["modal"] - 1
    if len(blocks) > limit:
        blocks = [*blocks[: limit - 1], context(f"…cut to fit Slack: `initiative-bot audit record {record.key}` "
                                                "prints all of it.")]
    return _modal(blocks)


def _gate_blocks(gate: GateRecord) -> list[Block]:
    closed = f", closed {gate.closed_at}" + (f": {escape(gate.close_reason)}" if gate.close_reason else "") \
        if gate.closed_at else ""
    blocks: list[Block] = [section(
        f"*{escape(gate.gate_name)}* ({escape(gate.from_stage)} → {escape(gate.to_stage)}): *{escape(gate.outcome)}*\n"
        f"Definitions v{gate.definition_version} · opened by {_who(gate.opened_by, gate.opened_by_name)} "
        f"{gate.opened_at}{closed}")]
    blocks += [section(_signature_text(signature)) for signature in gate.signatures]
    return blocks


def _signature_text(signature: Signature) -> str:
    decided = (f"{escape(signature.decision)} by {_who(signature.decided_by, signature.decided_by_name)} "
               f"{signature.decided_at}") if signature.decided_by else escape(signature.decision)
    lines = [f"*{escape(signature.role_name)}*: {decided}"]
    if signature.comment:
        lines.append(f"> {escape(clip(signature.comment, 300))}")
    for line in signature.checklist:
        reason = f": {escape(clip(line.reason, 200))}" if line.reason else ""
        lines.append(f"{_STATUS_MARKS.get(line.status, '◐')} {escape(line.label)} _({line.status}{reason})_")
    lines += [f"📎 {escape(link)}" for link in signature.evidence_links]
    return "\n".join(lines)


def _who(user_id: str | None, name: str | None) -> str:
    """A live mention for a Slack user; the stored name or pseudonym otherwise (system, erased people)."""
    if user_id and user_id[:1] in ("U", "W") and not user_id.startswith(PSEUDONYM_PREFIX):
        return mention(user_id)
    return escape(name or user_id or "nobody")


def _modal(blocks: list[Block]) -> dict[str, Any]:
    view = View(type="modal", callback_id=ids.DECISION_RECORD_MODAL, title=TITLE, close="Close",
                blocks=finish(blocks, "modal"))
    return view.to_dict()
