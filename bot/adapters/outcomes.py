"""How a hold's revisit prompt reads in Slack, handed to the outcomes domain (bot/services/outcomes/scheduled.py)."""

from __future__ import annotations

from typing import Any

from bot.services.outcomes.scheduled import RevisitDue
from bot.views.outcomes import revisit_prompt


def prompt_payload(due: RevisitDue) -> dict[str, Any]:
    return revisit_prompt(due).payload()
