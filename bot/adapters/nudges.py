"""How a nudge reads in Slack and how users.info and dnd.info are asked, handed to the nudges domain's sweep
(bot/services/nudges/scheduled.py) by the nudge job, `initiative-bot nudge`, the demo and the playground."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.runtime import Runtime
from bot.services.nudges import scheduled
from bot.services.nudges.scheduled import DndLookup, LookupsExhausted, Notice, ProfileLookup, SweepResult
from bot.views.nudges import nudge_message

log = logging.getLogger(__name__)


def run_sweep(runtime: Runtime, *, now: datetime | None = None, send: bool = True,
              client: WebClient | None = None, team_id: str | None = None) -> SweepResult:
    """One sweep (see `scheduled.run_sweep`); with a `client`, stale time zones are read from users.info first,
    and DMs to people in Do Not Disturb (dnd.info) are held. What the job and `initiative-bot nudge` run."""
    return scheduled.run_sweep(runtime, render=notice_payload, now=now, send=send, team_id=team_id,
                               profiles=slack_profiles(client) if client is not None else None,
                               do_not_disturb=slack_dnd(client) if client is not None else None)


def slack_dnd(client: WebClient) -> DndLookup:
    """dnd.info through `client`: when the person's Do Not Disturb (a snooze, or their scheduled quiet hours) ends,
    if it is on at `now`; None when it is off or Slack refuses (the nudge is not held)."""

    def lookup(user_id: str, now: datetime) -> datetime | None:
        try:
            answer = client.api_call("dnd.info", params={"user": user_id}).data
        except SlackApiError as exc:
            log.warning("dnd.info %s failed: %s; not held", user_id, exc.response.get("error"))
            return None
        if not isinstance(answer, dict):
            return None
        moment = now.timestamp()
        ends = [float(answer.get("snooze_endtime") or 0)] if answer.get("snooze_enabled") else []
        if answer.get("dnd_enabled") and float(answer.get("next_dnd_start_ts") or 0) <= moment:
            ends.append(float(answer.get("next_dnd_end_ts") or 0))
        latest = max(ends, default=0.0)
        return datetime.fromtimestamp(latest, UTC) if latest > moment else None

    return lookup


def notice_payload(notice: Notice) -> dict[str, Any]:
    return nudge_message(notice).payload()


def slack_profiles(client: WebClient) -> ProfileLookup:
    """users.info through `client`: the user object, {} when Slack refuses (the default zone applies)."""

    def lookup(user_id: str) -> Mapping[str, Any]:
        try:
            return client.users_info(user=user_id).get("user") or {}
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                raise LookupsExhausted from exc
            log.warning("users.info %s failed: %s; using the default zone", user_id, exc.response.get("error"))
            return {}

    return lookup

