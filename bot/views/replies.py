"""Private answers to `/initiative`: help, errors, lists, the initiative card, owners and history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.commands.registry import COMMAND, Reply
from bot.services.gates.service import GateCatalog
from bot.services.kpis.service import Standing
from bot.services.reviews.service import REATTESTATION
from bot.views import ids
from bot.views import kpis as kpi_views
from bot.views.blocks import context, divider, fields, finish, header, more_line, section
from bot.views.conditions import ConditionView, condition_line
from bot.views.history import event_sentence
from bot.views.outcomes import day
from bot.views.regulation import card_line, classify_button
from bot.views.text import (
    SECTION_MAX,
    channel_link,
    clip,
    escape,
    escape_keeping_mentions,
    mention,
    mrkdwn,
    slack_date,
)
from storage.models import AuditEvent, GateReview, Initiative, InitiativeClassification, InitiativeOutcome, SignOff

# The one sentence for a failure that is ours, not the person's; never a stack trace.
SOMETHING_WENT_WRONG = "Something went wrong on our side and nothing was changed; please try again in a minute."
LIST_LIMIT = 40
HISTORY_LIMIT = 40
CARD_CONDITIONS = 10
_LINES_PER_SECTION = 10
_STATE_MARKS = {"pending": "⏳ pending", "approved": "✅ approved", "waived": "☑️ waived",
                "changes_requested": "↩️ changes requested", "cancelled": "✖️ cancelled"}


def help_reply(grammar: str) -> Reply:
    """`grammar`: every subcommand's usage, in help order; whole, in as many code sections as Slack's 3,000
    characters per section need. The fallback text is the first of them, saying how many lines follow."""
    parts: list[list[str]] = [[]]
    for line in escape(grammar).splitlines():
        # Room for the code fence, and for the fallback's "(and N more lines)".
        if parts[-1] and len("\n".join([*parts[-1], line])) > SECTION_MAX - 40:
            parts.append([])
        parts[-1].append(line)
    rest = sum(len(part) for part in parts[1:])
    text = "\n".join(parts[0]) + (f"\n(and {rest} more lines)" if rest else "")
    return Reply(text=text, blocks=finish([section("```" + "\n".join(part) + "```") for part in parts], "message"))


def unknown_subcommand(word: str, *, known: Sequence[str]) -> Reply:
    """Short however many subcommands there are: their names, and where the full grammar is."""
    usage = (f"{COMMAND} <command> …   where <command> is one of: {', '.join(known)}\n"
             f"{COMMAND} help   -> every command's usage")
    return error_reply(f"`{COMMAND} {clip(word, 30)}` is not a command.", usage=usage)


def error_reply(message: str, *, usage: str | None = None) -> Reply:
    """One short private line saying what was wrong, with the right usage when the input was at fault."""
    text = escape_keeping_mentions(message) + (f"\nUsage: {escape(usage)}" if usage else "")
    blocks: list[Block] = [section(escape_keeping_mentions(message))]
    if usage:
        blocks.append(context(f"Usage:\n```{escape(usage)}```"))
    return Reply(text=text, blocks=finish(blocks, "message"))


def done(message: str) -> Reply:
    """A confirmation; `message` is already mrkdwn-safe (keys, mentions and escaped user text only)."""
    return Reply(text=message, blocks=finish([section(message)], "message"))


def initiative_line(initiative: Initiative, catalog: GateCatalog) -> str:
    stage = stage_name(catalog, initiative.stage)
    status = "" if initiative.status == "active" else f" · _{initiative.status}_"
    return (f"*{initiative.key}* {mrkdwn(initiative.title, 150)} — {escape(stage)} · "
            f"{initiative.risk_tier} risk{status}")


def initiative_list(initiatives: Sequence[Initiative], *, total: int, scope_label: str,
                    catalog: GateCatalog) -> Reply:
    shown = list(initiatives[:LIST_LIMIT])
    if not shown:
        message = f"No initiatives {scope_label}. `/initiative new <title>` records one."
        return Reply(text=escape(message), blocks=finish([section(escape(message))], "message"))
    lines = [initiative_line(i, catalog) for i in shown]
    blocks: list[Block] = [header(f"Initiatives {scope_label} ({total})")]
    for start in range(0, len(lines), _LINES_PER_SECTION):
        blocks.append(section("\n".join(lines[start:start + _LINES_PER_SECTION])))
    more = more_line(len(shown), total, "Narrow the list with `/initiative list <stage>` or `mine`.")
    if more:
        blocks.append(context(escape(more)))
    text = "\n".join(f"{i.key} {mrkdwn(i.title, 150)}" for i in shown) + (f"\n{escape(more)}" if more else "")
    return Reply(text=text, blocks=finish(blocks, "message"))


def initiative_card(
    initiative: Initiative,
    *,
    owners: Mapping[str, str],
    catalog: GateCatalog,
    review: GateReview | None,
    sign_offs: Sequence[SignOff],
    deadlines: Mapping[int, datetime],
    reader_zone: ZoneInfo | None,
    shared_by: str | None = None,
    standing: InitiativeOutcome | None = None,
    kpis: Sequence[Standing] = (),
    classification: InitiativeClassification | None = None,
    after_go_live: Sequence[str] = (),
    next_target: NextTarget | None = None,
    conditions: Sequence[ConditionView] = (),
    waiting_on: Mapping[str, int] | None = None,
) -> Reply:
    """What `/initiative show` answers privately (with "Share to channel"), and what sharing posts. `deadlines`:
    each pending sign-off's (bot.services.reviews.deadlines); `reader_zone`: the zone the fallbacks of its times
    are given in (the reader's, when known; else UTC)."""
    blocks = initiative_card_blocks(initiative, owners=owners, catalog=catalog, review=review, sign_offs=sign_offs,
                                    deadlines=deadlines, reader_zone=reader_zone, standing=standing,
                                    classification=classification, after_go_live=after_go_live,
                                    conditions=conditions, waiting_on=waiting_on, next_target=next_target, kpis=kpis)
    if shared_by is None:
        blocks.append(ActionsBlock(elements=[
            ButtonElement(text="Share to channel", action_id=ids.SHARE_TO_CHANNEL, value=initiative.key),
            classify_button(initiative.key)]))
    else:
        blocks.append(context(f"Shared by {mention(shared_by)}"))
    text = (f"{initiative.key} {mrkdwn(initiative.title, 150)}: {escape(stage_name(catalog, initiative.stage))}, "
            f"{initiative.risk_tier} risk, {initiative.status}")
    return Reply(text=text, blocks=finish(blocks, "message"))


def initiative_card_blocks(
    initiative: Initiative,
    *,
    owners: Mapping[str, str],
    catalog: GateCatalog,
    review: GateReview | None,
    sign_offs: Sequence[SignOff],
    deadlines: Mapping[int, datetime],
    reader_zone: ZoneInfo | None,
    standing: InitiativeOutcome | None = None,
    classification: InitiativeClassification | None = None,
    after_go_live: Sequence[str] = (),
    conditions: Sequence[ConditionView] = (),
    waiting_on: Mapping[str, int] | None = None,
    next_target: NextTarget | None = None,
    kpis: Sequence[Standing] = (),
) -> list[Block]:
    """The card itself, without what is done with it: in a reply, a shared post, or the "View initiative" modal.
    `standing`: the hold or kill behind a `held` or `killed` status, shown with it; `classification`: the
    questionnaire's standing result; `after_go_live`: its flags, its model's age and its next re-attestation,
    one line each (bot.views.attestation); `conditions`: its Conditional Gos' conditions (and expired waivers),
    open first; `waiting_on`: how many things wait on each person (bot.services.waiting); `next_target`: the
    date its deciders set for passing the next gate; `kpis`: each KPI's latest actuals against its target."""
    stage = stage_name(catalog, initiative.stage)
    kpi = kpi_views.definition(kpis[0].kpi if kpis else None)
    blocks: list[Block] = [header(f"{initiative.key} · {initiative.title}")]
    if initiative.description:
        blocks.append(section(mrkdwn(initiative.description, 2900)))
    blocks.append(fields([
        ("Stage", f"{escape(stage)} since "
                  f"{slack_date(initiative.stage_entered_at, zone=reader_zone, fmt='{date_short_pretty}')}"),
        ("Status", _status(initiative, standing)),
        ("Risk tier", initiative.risk_tier),
        ("Classification", card_line(classification)),
        ("KPI", kpi),
        ("Team", mrkdwn(initiative.business_unit, 100) or "—"),
        ("Channel", channel_link(initiative.channel_id)),
        ("Tags", mrkdwn(", ".join(initiative.tags), 500) or "—"),
        ("Recorded", f"by {mention(initiative.created_by)} {slack_date(initiative.created_at, zone=reader_zone)}"),
        *([("Next gate by", day(next_target.on) + (" (passed)" if next_target.passed else ""))]
          if next_target else []),
    ]))
    if any(standing.recent for standing in kpis):
        blocks.append(kpi_views.standings_section(kpis))
    if initiative.problem:
        blocks.append(section(f"*Business problem*\n{mrkdwn(initiative.problem, 2900)}"))
    owner_lines = [f"{escape(catalog.role_name(role))}: {mention(user)}" for role, user in owners.items()]
    blocks.append(section("*Owners*\n" + ("\n".join(owner_lines) or "none yet: `/initiative owners "
                                                                     f"{initiative.key} business=@someone`")))
    if review is not None:
        blocks.append(divider())
        lines = [f"{escape(catalog.role_name(s.role))} ({mention(s.assignee)}): {_STATE_MARKS.get(s.state, s.state)}"
                 + (f", due {slack_date(deadlines[s.id], zone=reader_zone)}" if s.id in deadlines else "")
                 for s in sign_offs]
        to_stage = stage_name(catalog, review.to_stage)
        opened = slack_date(review.opened_at, zone=reader_zone)
        title = (escape(catalog.gate(review.gate_slug).name) if review.kind == REATTESTATION
                 else f"Review for {escape(to_stage)}")
        blocks.append(section(f"*{title}* opened {opened}\n" + "\n".join(lines)))
    if after_go_live:
        blocks.append(section(clip("*After go-live*\n" + "\n".join(after_go_live), 3000)))
    if conditions:
        blocks.append(divider())
        shown = conditions[:CARD_CONDITIONS]
        open_count = sum(1 for view in conditions if view.item.state == "open")
        blocks.append(section(f"*Conditions* ({open_count} open of {len(conditions)})\n" + "\n".join(
            condition_line(view, reader_zone, with_initiative=False) for view in shown)))
        if more := more_line(len(shown), len(conditions), f"`/initiative conditions {initiative.key}` lists them all."):
            blocks.append(context(escape(more)))
    if waiting_on:
        blocks.append(context("Waiting on " + ", ".join(f"{mention(person)} ({count})"
                                                        for person, count in sorted(waiting_on.items()))))
    return blocks


@dataclass(frozen=True)
class NextTarget:
    """The target date for passing the next gate, and whether it has passed in the reader's zone."""

    on: date
    passed: bool


def owners_reply(initiative: Initiative, owners: Mapping[str, str], catalog: GateCatalog, *, changed: bool) -> Reply:
    lines = [f"{escape(catalog.role_name(role))}: {mention(user)}" for role, user in owners.items()]
    first = f"Owners of *{initiative.key}* updated." if changed else f"Owners of *{initiative.key}* are unchanged."
    text = first.replace("*", "") + " " + "; ".join(
        f"{escape(catalog.role_name(r))}: {mention(u)}" for r, u in owners.items())
    return Reply(text=text, blocks=finish([section(first + "\n" + "\n".join(lines))], "message"))


def history_reply(initiative: Initiative, events: Sequence[AuditEvent], catalog: GateCatalog) -> Reply:
    """`/initiative history`: what happened to an initiative, a sentence per change, oldest first."""
    shown = list(events[-HISTORY_LIMIT:])
    lines = [event_sentence(event, catalog, initiative.key) for event in shown]
    blocks: list[Block] = [header(f"History of {initiative.key}")]
    for start in range(0, len(lines), _LINES_PER_SECTION):
        blocks.append(section("\n".join(lines[start:start + _LINES_PER_SECTION])))
    if len(events) > len(shown):
        blocks.append(context(f"…and {len(events) - len(shown)} earlier changes, in the audit export."))
    blocks.append(ActionsBlock(elements=[ButtonElement(text="Decision record", action_id=ids.DECISION_RECORD,
                                                       value=initiative.key)]))
    text = f"History of {initiative.key}: {len(events)} change{'s' if len(events) != 1 else ''}, the last: " + (
        lines[-1] if lines else "none")
    return Reply(text=text if lines else f"{initiative.key} has no history yet.", blocks=finish(blocks, "message"))


def _status(initiative: Initiative, standing: InitiativeOutcome | None) -> str:
    if standing is not None and standing.kind == "hold" and standing.revisit_on:
        return f"on hold until {day(standing.revisit_on)}: {mrkdwn(standing.reason, 500)}"
    if standing is not None and standing.kind == "kill":
        return f"killed: {mrkdwn(standing.reason, 500)}"
    return initiative.status + (f": {mrkdwn(initiative.retired_reason, 500)}" if initiative.retired_reason else "")


def stage_name(catalog: GateCatalog, stage_id: str) -> str:
    """A stage's display name; its id when a newer definition dropped it."""
    return next((stage.name for stage in catalog.stages if stage.id == stage_id), stage_id)
