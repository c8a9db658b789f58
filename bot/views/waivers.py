"""Waivers that expire, in Slack: the warning DM to the person who waived. Pure builders: data in, blocks out."""

from __future__ import annotations

from bot.services.waivers.scheduled import ExpiryWarning, WaiverShown
from bot.views.blocks import Message, context, finish, section
from bot.views.outcomes import day
from bot.views.text import clip, mrkdwn
from storage.models import Initiative, TrackedItem

LISTED = 20  # waivers listed in one DM; the rest are counted


def expiry_warning(warning: ExpiryWarning) -> Message:
    """5 business days before: which of your waivers expire, and what to do before they do."""
    count = len(warning.waivers)
    lines = [_line(waiver) for waiver in warning.waivers[:LISTED]]
    if count > LISTED:
        lines.append(f"…and {count - LISTED} more.")
    head = ("A checklist item you waived expires soon:" if count == 1
            else f"{count} checklist items you waived expire soon:")
    keys = sorted({waiver.initiative_key for waiver in warning.waivers})
    fallback = (f"{count} waiver{'s' if count != 1 else ''} you gave expire{'s' if count == 1 else ''} soon "
                f"({', '.join(keys[:5])}{', …' if len(keys) > 5 else ''}), the first on "
                f"{day(min(w.expires_on for w in warning.waivers))}.")
    return Message(text=clip(fallback, 3000), blocks=finish([
        section(head + "\n" + "\n".join(lines)),
        context("On its expiry date a waived item becomes a tracked item you own, and it blocks the initiative's "
                "next review until it is met with evidence or waived again."),
    ], "message"))


def expired_waiver_news(key: str, initiative: Initiative, item: TrackedItem) -> Message:
    """The DM its owner gets when a waiver they gave expires and becomes the tracked item `key`."""
    name = f"*{key}* on *{initiative.key}* {mrkdwn(initiative.title, 100)}"
    return Message(
        text=f"Your waiver expired: {key} of {initiative.key} is yours to meet: {clip(item.text, 200)}",
        blocks=finish([
            section(f"A waiver you gave expired. {name} is now yours to meet: {mrkdwn(item.text, 500)}"),
            context(f"It holds up {initiative.key}'s next review until it is met "
                    f"(`/initiative condition met {key} <evidence or link>`) or waived again "
                    f"(`/initiative condition waive {key} until YYYY-MM-DD <reason>`)."),
        ], "message"))


def _line(waiver: WaiverShown) -> str:
    return (f"• *{waiver.initiative_key}* {mrkdwn(waiver.initiative_title, 80)} · {mrkdwn(waiver.gate_name, 60)}: "
            f"“{mrkdwn(waiver.item_label, 80)}”, waived until *{day(waiver.expires_on)}* "
            f"({mrkdwn(waiver.reason, 200)})")
