"""Builds the production runtime: settings, the database, every handler of domain events, and the renderers of
outbox intents.

Each area appends its handler here (one line each); handlers run inside the transaction that emitted the event.
Renderers run in the outbox sender, when an intent is sent.
"""

from __future__ import annotations

from functools import partial

from bot.config import Settings
from bot.delivery.sender import make_client
from bot.listeners.middleware import slack_roles
from bot.notifications import SlackNotifications
from bot.presenters import (
    CONDITION_NEWS_INTENT,
    DECISION_NEWS_INTENT,
    GATE_PASSED_INTENT,
    HOME_INTENT,
    SIGN_OFF_DM_INTENT,
    render_condition_news,
    render_decision_news,
    render_gate_passed,
    render_home,
    render_nudge,
    render_sign_off_dm,
)
from bot.runtime import Runtime
from bot.services.attestation.service import AttestationEvents
from bot.services.nudges.scheduled import NUDGE_INTENT
from bot.services.webhooks.service import AutomaticCheckEvents, EvidenceEvents, WebhookEvents


def build_runtime(settings: Settings, *, database_url: str | None = None) -> Runtime:
    runtime = Runtime.from_settings(settings, database_url=database_url)
    # Automatic checks first: a review's sign-off DMs, posted for the same event, then show its items as pending.
    runtime.event_handlers += [EvidenceEvents(), AutomaticCheckEvents(), AttestationEvents()]
    runtime.event_handlers.append(SlackNotifications(settings))
    runtime.event_handlers.append(WebhookEvents())
    runtime.renderers.update({
        # A Home's reader is an admin as in their commands: SLACK_ADMINS_ARE_ADMINS asks users.info here too.
        HOME_INTENT: partial(render_home, default_zone=settings.default_zone, admin_user_ids=settings.admin_user_ids,
                             slack_roles=slack_roles(runtime, make_client(settings))),
        SIGN_OFF_DM_INTENT: partial(render_sign_off_dm, default_zone=settings.default_zone),
        DECISION_NEWS_INTENT: render_decision_news,
        GATE_PASSED_INTENT: render_gate_passed,
        CONDITION_NEWS_INTENT: render_condition_news,
        NUDGE_INTENT: render_nudge,
    })
    return runtime
