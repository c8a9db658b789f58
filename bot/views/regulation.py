"""Classification in Slack: the questionnaire modal, its result, the card's line about it, and the admins'
alert when an initiative is classified prohibited. Pure builders: data in, blocks out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, InputBlock, Option, RadioButtonsElement
from slack_sdk.models.views import View

from bot.services.regulation.service import (
    MET,
    NEEDS_REVIEW,
    NOT_APPLICABLE,
    OPEN,
    WAIVED,
    Cell,
    ComplianceReport,
    Questionnaire,
)
from bot.views import ids
from bot.views.blocks import Message, context, finish, header, section
from bot.views.text import clip, escape, mention, mrkdwn, plain_date
from storage.models import Initiative, InitiativeClassification

TITLE_MAX = 24
RATIONALE_LINES = 12
COMPLIANCE_BLOCKS = 45  # of a message's 50, leaving room for the cut notice


def classify_modal(initiative: Initiative, questionnaire: Questionnaire, *,
                   previous: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One radio group per question, under its section's title; `previous`: the standing answers, pre-chosen."""
    previous = previous or {}
    options = {answer: Option(value=answer, label=clip(label, 75)) for answer, label in questionnaire.answers}
    blocks: list[Block] = [
        section(f"*{initiative.key}* {mrkdwn(initiative.title, 150)}\nAnswer for what it is meant to do. The "
                "answers decide its tier, and so which owners must sign its gates."),
        context(f":warning: {escape(questionnaire.disclaimer)}"),
    ]
    for title, questions in questionnaire.sections:
        blocks.append(header(title))
        for question in questions:
            chosen = options.get(previous.get(question.id, ""))
            blocks.append(InputBlock(
                block_id=ids.question_block_id(question.id), label=clip(question.text, 2000), hint=question.cites,
                element=RadioButtonsElement(action_id=ids.VALUE, options=list(options.values()),
                                            initial_option=chosen)))
    metadata = ids.encode_classify_context(ids.ClassifyModalContext(key=initiative.key,
                                                                    version=questionnaire.version))
    view = View(type="modal", callback_id=ids.CLASSIFY_MODAL, title=clip(f"Classify {initiative.key}", TITLE_MAX),
                submit="Classify", close="Cancel", blocks=finish(blocks, "modal"), private_metadata=metadata)
    return view.to_dict()


def classify_button(key: str) -> ButtonElement:
    """Opens the questionnaire: on the initiative's card, and where it has just been recorded."""
    return ButtonElement(text="Classify", action_id=ids.CLASSIFY, value=ids.initiative_key_value(key))


def recorded(key: str, text: str) -> tuple[str, list[dict[str, Any]]]:
    """What follows recording an initiative (`text`, mrkdwn-safe, also the fallback), with a Classify button."""
    blocks: list[Block] = [section(text), context("Classify it now: the EU AI Act screening questions set its risk "
                                                  "tier."), ActionsBlock(elements=[classify_button(key)])]
    return text, finish(blocks, "message")


def tier_name(tier: str | None) -> str:
    return {None: "not classified", NEEDS_REVIEW: "needs review"}.get(tier, tier or "")


def classified_text(initiative: Initiative, row: InitiativeClassification, questionnaire: Questionnaire) -> str:
    """The result, said to the person who answered: the tier, its effect, and why (each answer with its article)."""
    if row.derived_tier == "prohibited":
        effect = ("No gate can be passed while this stands; any open review was cancelled and the admins have been "
                  "told.")
    elif row.risk_tier:
        effect = f"Its risk tier is now *{row.risk_tier}*: it decides who signs its next gate."
    else:
        effect = (f"Its risk tier stays *{initiative.risk_tier}*. Ask your compliance owner to look at the answers "
                  "marked not sure.")
    lines = [f"*{initiative.key}* is classified *{tier_name(row.derived_tier)}* (questionnaire "
             f"v{row.questionnaire_version}). {effect}", "", *rationale_lines(row)]
    dates = [f"• {escape(a.cites)}: {escape(a.what)}, from {a.date.isoformat()}" for a in questionnaire.applies_from
             if a.tier == row.derived_tier]
    if dates:
        lines += ["", "*When the obligations apply*", *dates]
    lines += ["", f"_{escape(questionnaire.disclaimer)}_"]
    return "\n".join(lines)


def rationale_lines(row: InitiativeClassification, *, limit: int = RATIONALE_LINES) -> list[str]:
    """The stored rationale as lines: the rule and its article, then each answer that led to it."""
    rule, *answers = row.rationale or [{}]
    first = (f"*Why:* rule `{escape(rule.get('rule', ''))}` ({escape(rule.get('cites', ''))})" if rule.get("rule")
             else "*Why:* no rule matched these answers, so a person must review them.")
    return [first] + [f"• {mrkdwn(a['text'], 300)} *{escape(a['answer'])}* ({escape(a['cites'])})"
                      for a in answers[:limit]]


def card_line(row: InitiativeClassification | None) -> str:
    """The "Classification" field of an initiative's card."""
    if row is None:
        return "not classified: *Classify* below"
    line = f"{tier_name(row.derived_tier)}, questionnaire v{row.questionnaire_version}, by {mention(row.decided_by)}"
    if row.kind == "override":
        line += f"; risk tier overridden to {row.risk_tier}: {mrkdwn(row.reason, 300)}"
    return line


def prohibited_alert(initiative: Initiative, row: InitiativeClassification) -> Message:
    """To each admin: an initiative was classified prohibited, so its gates are blocked."""
    blocks: list[Block] = [
        section(f":no_entry: *{initiative.key}* {mrkdwn(initiative.title, 150)} was classified *prohibited* by "
                f"{mention(row.decided_by)}. No gate can be passed while this stands; any open review was "
                "cancelled."),
        section("\n".join(rationale_lines(row))),
        context(f"`/initiative show {initiative.key}` shows it. If the answers were wrong, its owners can classify "
                "it again."),
    ]
    return Message(text=f"{initiative.key} {clip(initiative.title, 150)} was classified prohibited: its gates are "
                        "blocked.", blocks=finish(blocks, "message"))


def overridden_text(initiative: Initiative, row: InitiativeClassification) -> str:
    return (f"*{initiative.key}*'s risk tier is now *{row.risk_tier}*, overriding its classification "
            f"({tier_name(row.derived_tier)}), signed off by {mention(row.decided_by)} on "
            f"{plain_date(row.decided_at)}: {mrkdwn(row.reason, 500)}")



def compliance_reply(report: ComplianceReport) -> tuple[str, list[dict[str, Any]]]:
    """One initiative's row of the compliance report: its applicable controls by state, within a message's
    limits (the CLI's `initiative-bot compliance report` has every cell)."""
    [row] = report.rows
    counts = Counter(cell.state for cell in row.cells.values())
    summary = ", ".join(f"{counts[state]} {state}" for state in (MET, WAIVED, OPEN, NOT_APPLICABLE) if counts[state])
    blocks: list[Block] = [header(f"Compliance of {row.key}"),
                           context(f"Controls catalog v{report.catalog_version}"
                                   + ("" if report.reviewed_by_counsel else ", not reviewed by counsel")
                                   + ". A screening aid, not legal advice.")]
    if row.tier is None:
        blocks.append(section(f"*{row.key}* is not classified yet, so no control applies: `/initiative classify "
                              f"{row.key}`."))
        return f"Compliance of {row.key}: not classified yet.", finish(blocks, "message")
    blocks.append(section(f"*{row.key}* {mrkdwn(row.title, 150)} · tier *{tier_name(row.tier)}* · {summary}"))
    titles = {control.ref: control.title for control in report.controls}
    for state in (OPEN, WAIVED, MET):
        lines = [_control_line(ref, titles[ref], cell) for ref, cell in row.cells.items() if cell.state == state]
        for chunk in _chunks(lines, f"*{state.capitalize()}* ({len(lines)})"):
            if len(blocks) < COMPLIANCE_BLOCKS:
                blocks.append(section(chunk))
    if len(blocks) >= COMPLIANCE_BLOCKS:
        blocks.append(context("…cut to fit Slack: `initiative-bot compliance report` has every control."))
    return f"Compliance of {row.key}: {summary}.", finish(blocks, "message")


def _control_line(ref: str, title: str, cell: Cell) -> str:
    detail = [f"`{escape(cell.item)}`" if cell.item else "", f"by {mention(cell.by)}" if cell.by else "",
              plain_date(cell.at) if cell.at else "", f"“{mrkdwn(cell.reason, 200)}”" if cell.reason else "",
              " ".join(escape(link) for link in cell.evidence[:3])]
    more = ", ".join(part for part in detail if part)
    return f"• *{escape(ref)}* {escape(title)}" + (f": {more}" if more else "")


def _chunks(lines: list[str], head: str) -> list[str]:
    """`head` and the lines, as sections of at most 2,900 characters."""
    chunks, current = [], head
    for line in lines:
        if len(current) + len(line) + 1 > 2900:
            chunks.append(current)
            current = line
        else:
            current += "\n" + line
    return [*chunks, current] if lines else []
