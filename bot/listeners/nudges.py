"""Nudge DMs' snooze buttons, `user_change` events (a person's time zone), and `/initiative delegate`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.commands.registry import Arguments, CommandContext, Reply, Subcommand, UsageError
from bot.listeners.middleware import RequestActor
from bot.listeners.surfaces import tell
from bot.notifications import republish_homes
from bot.runtime import Runtime
from bot.services.access import service as delegation
from bot.services.access.service import PROFILE_MAX_AGE, display_name_of, record_profile, zone_for
from bot.services.errors import DomainError
from bot.services.gates.service import ensure_workspace
from bot.services.nudges.service import snooze
from bot.views import ids, replies
from bot.views.nudges import delegation_text, snoozed_text
from storage.models import UserProfile
from storage.types import utcnow

log = logging.getLogger(__name__)

DELEGATE_USAGE = (
    "/initiative delegate @someone until YYYY-MM-DD -> they act for you and get your reminders",
    "/initiative delegate off                    -> end your delegation now",
)


def register(app: App, runtime: Runtime) -> None:
    @app.action(ids.SNOOZE_ONE_DAY)
    @app.action(ids.SNOOZE_UNTIL_MONDAY)
    def on_snooze(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, actor: RequestActor) -> None:
        ack()
        now = utcnow()
        try:
            with runtime.transaction() as session:
                until = snooze(session, actor=actor.in_session(session), choice=str(body["actions"][0].get("value")),
                               now=now, default_zone=runtime.settings.default_zone)
        except DomainError as error:
            tell(body, client, respond, str(error))
            return
        tell(body, client, respond, snoozed_text(until))

    @app.event("user_change")
    def on_user_change(event: dict[str, Any], body: dict[str, Any]) -> None:
        user = event.get("user") or {}
        # The workspace the event was delivered for (the one this bot serves), not a Slack Connect guest's own.
        team_id = body.get("team_id") or user.get("team_id")
        if not user.get("id") or not team_id:
            return
        with runtime.transaction() as session:
            ensure_workspace(session, team_id=team_id)
            record_profile(session, team_id=team_id, user_id=user["id"], tz=user.get("tz"), now=utcnow(),
                           display_name=display_name_of(user), deleted=bool(user.get("deleted")))


def delegate_command(ctx: CommandContext, args: Arguments) -> Reply:
    words = [token.text.lower() for token in args.tokens]
    now = utcnow()
    if words == ["off"]:
        with ctx.runtime.transaction() as session:
            ended = delegation.end_delegation(session, actor=ctx.actor, now=now)  # both Homes are refreshed
        return replies.done(f"Your delegation to <@{ended.delegate}> has ended: your sign-offs and reminders "
                            "are yours again.")
    if len(words) != 3 or not args.tokens[0].user_id or words[1] != "until":
        raise UsageError("Write `/initiative delegate @someone until 2026-12-24`, or `/initiative delegate off`.")
    until = delegation.parse_until(args.tokens[2].text)
    _refresh_own_zone(ctx, now)
    with ctx.runtime.transaction() as session:
        zone = zone_for(session, team_id=ctx.actor.team_id, user_id=ctx.actor.user_id,
                        default=ctx.runtime.settings.default_zone)
        row = delegation.delegate(session, actor=ctx.actor, delegate_id=args.tokens[0].user_id, until=until,
                                  owner_zone=zone, now=now)
        # The new delegate's desk lists what waits on the owner (a replaced delegate's Home: DelegationEnded).
        republish_homes(session, team_id=ctx.actor.team_id, user_ids=[row.delegate])
    return replies.done(delegation_text(row.delegate, row.until_date, zone.key))


DELEGATE = Subcommand("delegate", delegate_command, usage=DELEGATE_USAGE)


def _refresh_own_zone(ctx: CommandContext, now: datetime) -> None:
    """The delegation ends at 23:59 in the owner's zone: read it from Slack if ours is missing or old."""
    team_id, user_id = ctx.actor.team_id, ctx.actor.user_id
    with ctx.runtime.transaction() as session:
        profile = session.get(UserProfile, (team_id, user_id))
        if profile is not None and profile.refreshed_at > now - PROFILE_MAX_AGE:
            return
    try:
        user = ctx.client.users_info(user=user_id).get("user") or {}
    except SlackApiError as exc:
        log.warning("users.info %s failed (%s); the stored or default zone applies", user_id,
                    exc.response.get("error"))
        return
    with ctx.runtime.transaction() as session:
        record_profile(session, team_id=team_id, user_id=user_id, tz=user.get("tz"), now=now,
                       display_name=display_name_of(user), deleted=bool(user.get("deleted")))
