"""KPIs in Slack: their lines on the initiative card, the record-or-correct modal, the private replies, and the
business owner's reminder. Pure builders: data in, blocks out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.services.kpis.scheduled import KpiUpdateDue
from bot.services.kpis.service import NO_DATA, ON_TRACK, Recorded, Standing, format_measure
from bot.services.validation import REASON
from bot.views import ids
from bot.views.blocks import context, finish, more_line, section
from bot.views.text import clip, mention, mrkdwn
from storage.models import Initiative, Kpi

STATUS_WORDS = {ON_TRACK: "on track", "off_track": "off track", NO_DATA: "no data"}
STATUS_MARKS = {ON_TRACK: "🟢", "off_track": "🔴", NO_DATA: "⚪"}


def kpi_name(kpi: Kpi) -> str:
    return kpi.name or "KPI"


def definition(kpi: Kpi | None) -> str:
    """`Monthly churn: 4.2% → 3.5% (lower is better, by 31 Mar 2027)`; the texts as typed where no number was."""
    if kpi is None:
        return "not set"
    baseline = format_measure(kpi.baseline, kpi.unit) or kpi.baseline_text
    target = format_measure(kpi.target, kpi.unit) or kpi.target_text
    line = mrkdwn(kpi.name, 200) or "KPI"
    if baseline or target:
        line += f": {mrkdwn(baseline, 100) or '?'} → {mrkdwn(target, 100) or '?'}"
    if kpi.target is not None:
        line += f" ({kpi.direction} is better" + (f", by {day(kpi.target_date)})" if kpi.target_date else ")")
    return line


def day(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else "?"


def standing_line(standing: Standing) -> str:
    """`Monthly churn: 3.9% on 01 Dec 2026, target 3.5%: off track · 4.1% → 4.0% → 3.9%`."""
    kpi, latest = standing.kpi, standing.latest
    name = mrkdwn(kpi_name(kpi), 200)
    if latest is None:
        return f"{STATUS_MARKS[NO_DATA]} {name}: no actual yet"
    target = format_measure(kpi.target, kpi.unit) or mrkdwn(kpi.target_text, 100) or "none"
    trend = " → ".join(format_measure(actual.value, kpi.unit) for actual in standing.recent)
    return (f"{STATUS_MARKS[standing.status]} {name}: {format_measure(latest.value, kpi.unit)} on "
            f"{day(latest.measured_on)}, target {target}: {STATUS_WORDS[standing.status]} · trend {trend}")


def standings_section(standings: Sequence[Standing]) -> Block | None:
    if not standings:
        return None
    return section("*KPIs: latest actual against target*\n" + "\n".join(standing_line(s) for s in standings))


def recorded_text(initiative: Initiative, recorded: Recorded) -> str:
    kpi, actual = recorded.kpi, recorded.actual
    value = format_measure(actual.value, kpi.unit)
    corrected = (f" (corrected from {format_measure(recorded.corrected, kpi.unit)})"
                 if recorded.corrected is not None else "")
    return (f"Recorded {mrkdwn(kpi_name(kpi), 200)} of {initiative.key} = {value} on {day(actual.measured_on)}"
            f"{corrected}. `/initiative show {initiative.key}` shows it against the target.")


def record_modal(initiative: Initiative, kpis: Sequence[Kpi], *, today: date) -> dict[str, Any]:
    """Record an actual, or correct one: a date that already has a value gets the new one."""
    options = [Option(value=str(kpi.position), text=clip(f"{kpi_name(kpi)} ({kpi.unit})" if kpi.unit
                                                          else kpi_name(kpi), 75)) for kpi in kpis]
    blocks: list[Block] = [
        section(f"*{initiative.key}* {mrkdwn(initiative.title, 150)}\n"
                + "\n".join(definition(kpi) for kpi in kpis)),
        InputBlock(block_id=ids.KPI_NAME_BLOCK, label="KPI", element=StaticSelectElement(
            action_id=ids.VALUE, options=options, initial_option=options[0])),
        InputBlock(block_id=ids.KPI_VALUE_BLOCK, label="Value", hint="A number, with its unit or % if you like: 3.9%",
                   element=PlainTextInputElement(action_id=ids.VALUE, max_length=40)),
        InputBlock(block_id=ids.MEASURED_ON_BLOCK, label="Measured on",
                   hint="A date that already has a value: the new one corrects it.",
                   element=DatePickerElement(action_id=ids.VALUE, initial_date=today.isoformat())),
        InputBlock(block_id=ids.NOTE_BLOCK, label="Note", optional=True, element=PlainTextInputElement(
            action_id=ids.VALUE, max_length=REASON.limit)),
    ]
    metadata = ids.encode_initiative_context(ids.InitiativeModalContext(key=initiative.key))
    view = View(type="modal", callback_id=ids.KPI_MODAL, title=clip(f"KPIs of {initiative.key}", 24),
                submit="Record", close="Cancel", blocks=finish(blocks, "modal"), private_metadata=metadata)
    return view.to_dict()


def kpi_request_blocks(due: Sequence[KpiUpdateDue], *, shown: int, block_id_prefix: str,
                       reader: str | None = None) -> list[Block]:
    """The live initiatives whose KPI actuals the reader is asked to record, the first `shown` each with the button
    that opens the KPI modal: in the daily reminder DM and in the App Home alike. A request of someone other than
    the `reader` (given) was delegated to them, and says for whom."""
    if not due:
        return []
    delegated = reader is not None and any(request.recipient != reader for request in due)
    blocks: list[Block] = [section("*KPI actuals to record* on live initiatives you own"
                                   + (" or were delegated:" if delegated else ":"))]
    for request in due[:shown]:
        names = ", ".join(mrkdwn(name, 100) for name in request.kpi_names[:5])
        behalf = (f" · for {mention(request.recipient)} (delegated to you)"
                  if reader is not None and request.recipient != reader else "")
        blocks.append(section(f"*{request.key}* {mrkdwn(request.title, 150)}{behalf}\nTime to record its latest "
                              f"actuals ({names}).", block_id=f"{block_id_prefix}{request.initiative_id}",
                              accessory=ButtonElement(text="Record KPI actuals", action_id=ids.KPI_RECORD,
                                                      value=ids.initiative_key_value(request.key), style="primary")))
    hint = "Or type `/initiative kpi <key> <value> [YYYY-MM-DD] [note]`."
    blocks.append(context(more_line(min(shown, len(due)), len(due), hint) or hint))
    return blocks
