"""Block Kit for what comes after go-live: the news of a flag raised on an initiative (At risk, Stale model), and
the lines `show` gives about flags, the model's age and the next re-attestation."""

from __future__ import annotations

from datetime import datetime

from bot.services.attestation.service import AT_RISK, FLAG_NAMES, STALE_MODEL
from bot.views.blocks import Message, context, finish, section
from bot.views.text import clip, mrkdwn, slack_date
from storage.models import Initiative, InitiativeFlag, ModelCheck

FLAG_MARKS = {AT_RISK: "⚠️", STALE_MODEL: "🕰️"}


def flag_news(initiative: Initiative, flag: InitiativeFlag, *, stage_name: str) -> Message:
    """To the sponsor and the admins: an initiative was flagged At risk or Stale model, and why."""
    name = FLAG_NAMES[flag.kind]
    line = (f"{FLAG_MARKS[flag.kind]} *{initiative.key}* {mrkdwn(initiative.title, 150)} ({mrkdwn(stage_name, 60)}) "
            f"is flagged *{name}*.\n> {mrkdwn(flag.detail, 1500)}")
    more = ("An owner could not confirm its re-attestation; the flag clears when every owner confirms the next one."
            if flag.kind == AT_RISK else
            "Its model is older than its stage allows; the flag clears when MLflow shows a newer version.")
    return Message(text=f"{initiative.key} {clip(initiative.title, 150)} is flagged {name}: {clip(flag.detail, 300)}",
                   blocks=finish([section(line), context(f"{more} `/initiative show {initiative.key}`")], "message"))


def after_go_live_lines(flags: list[InitiativeFlag], model: ModelCheck | None, *, model_name: str | None,
                        next_reattestation: datetime | None) -> list[str]:
    """`show`'s lines: each raised flag with why, the model's age as MLflow last told it, the next re-attestation."""
    lines = [f"{FLAG_MARKS[flag.kind]} *{FLAG_NAMES[flag.kind]}* since {slack_date(flag.raised_at)}: "
             f"{mrkdwn(flag.detail, 500)}" for flag in flags]
    if model_name:
        age = (f"{model.state} — {mrkdwn(model.evidence, 300)} (asked {slack_date(model.checked_at)})" if model
               else "not asked yet")
        lines.append(f"*MLflow model* `{clip(model_name, 100)}`: {age}")
    if next_reattestation is not None:
        lines.append(f"*Next re-attestation* {slack_date(next_reattestation)}")
    return lines
