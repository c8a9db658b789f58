"""Nudges and escalations: the nudges domain's public face (the sweep itself is in `scheduled`).

Internals: `policy` (who is reminded or escalated to, and why; pure) and `state` (what the policy reads and
records: history, snoozes, whom to notify)."""

from bot.services.nudges.policy import ESCALATION, NUDGE, OUTSIDE_HOURS, SNOOZED, Held, Item, ItemLine, Notice
from bot.services.nudges.state import snooze

__all__ = [
    "ESCALATION", "NUDGE", "OUTSIDE_HOURS", "SNOOZED", "Held", "Item", "ItemLine", "Notice", "snooze"
]
