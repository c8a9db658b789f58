"""What the revisit job calls (bot/jobs/outcomes.py): on a hold's revisit date, from 09:00 in the sponsor's zone,
ask the sponsor (or, with none, whoever put it on hold) to resume, extend or kill. The domain words nothing: the
job hands in how the prompt reads (`render`).

Each prompt is sent once per hold and revisit date, whatever the replicas: the `hold_revisit_prompt` row (unique
on hold and date) is written in the same transaction as the DM's outbox row, inside a savepoint. On PostgreSQL a
second replica's insert waits for the first's commit, then fails on the constraint and sends nothing; on SQLite
every transaction begins with BEGIN IMMEDIATE, so the second finds the row. Extending a hold moves its date, so
the sponsor is asked again on the new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.delivery.installation import installed
from bot.delivery.messages import live_message, post_message, was_updated
from bot.services.access.service import zone_for
from bot.services.gates.service import catalog_for
from bot.services.outcomes.service import sponsor_of
from bot.services.scheduling import JobRuntime
from bot.services.validation import USER_ID_PATTERN
from storage.models import HoldRevisitPrompt, Initiative, InitiativeOutcome, SlackMessage
from storage.types import utcnow

REVISIT_PROMPT = "hold_revisit_prompt"  # the prompt's registered message: subject the hold_revisit_prompt row
PROMPT_HOUR = time(9)  # local: a decision prompt waits for the working day
TICK_MINUTES = 15

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RevisitDue:
    """A hold whose revisit date has come, as its prompt shows it."""

    key: str
    title: str
    stage_name: str
    reason: str
    held_by: str
    held_on: date
    revisit_on: date
    recipient: str


# The prompt as the payload of a chat.postMessage (text, blocks), without the channel.
PromptRenderer = Callable[[RevisitDue], dict[str, Any]]


def send_revisit_prompts(runtime: JobRuntime, *, render: PromptRenderer, now: datetime | None = None) -> int:
    """Write the revisit prompts that are due to the outbox, in one transaction; returns how many."""
    now = (now or utcnow()).astimezone(UTC)
    written = 0
    with runtime.transaction() as session:
        for outcome, initiative in _holds_near_their_date(session, now):
            due = _due(session, outcome, initiative, now=now, default_zone=runtime.settings.default_zone)
            if due is not None and (prompt := _claim(session, outcome, due)) is not None:
                # Registered, so that a decision taken elsewhere (the Extend or Kill modal, a command) can take
                # its buttons away (bot/notifications.py).
                post_message(session, team_id=initiative.team_id, kind=REVISIT_PROMPT, subject=prompt.id,
                             payload={"channel": due.recipient, **render(due)})
                written += 1
    if written:
        log.info("hold revisit prompts: %d written to the outbox", written)
    return written


def _holds_near_their_date(session: Session, now: datetime) -> list[tuple[InitiativeOutcome, Initiative]]:
    """Open holds whose revisit date has come somewhere on Earth (no zone is more than 14 hours ahead of UTC)."""
    horizon = (now + timedelta(hours=14)).date()
    return list(session.exec(
        select(InitiativeOutcome, Initiative).join(Initiative, col(Initiative.id) == InitiativeOutcome.initiative_id)
        .where(InitiativeOutcome.kind == "hold", col(InitiativeOutcome.ended_at).is_(None),
               Initiative.status == "held", col(InitiativeOutcome.revisit_on) <= horizon,
               installed(Initiative.team_id))
        .order_by(col(InitiativeOutcome.id))))


def _due(session: Session, outcome: InitiativeOutcome, initiative: Initiative, *, now: datetime,
         default_zone: Any) -> RevisitDue | None:
    recipient = sponsor_of(session, initiative=initiative) or outcome.decided_by
    if not USER_ID_PATTERN.match(recipient):
        # Held by the bot (an unanswered re-attestation) and no sponsor to ask: the digest lists it as past its
        # revisit date instead.
        log.debug("%s: hold past its revisit date, with no sponsor to ask", initiative.key)
        return None
    zone = zone_for(session, team_id=initiative.team_id, user_id=recipient, default=default_zone)
    assert outcome.revisit_on is not None  # a hold has one (ck_initiative_outcome_revisit)
    if now < datetime.combine(outcome.revisit_on, PROMPT_HOUR, tzinfo=zone):
        return None
    catalog = catalog_for(session, team_id=initiative.team_id)
    stage = next((s.name for s in catalog.stages if s.id == outcome.stage), outcome.stage)
    return RevisitDue(key=initiative.key, title=initiative.title, stage_name=stage, reason=outcome.reason,
                      held_by=outcome.decided_by, held_on=outcome.decided_at.astimezone(zone).date(),
                      revisit_on=outcome.revisit_on, recipient=recipient)


def _claim(session: Session, outcome: InitiativeOutcome, due: RevisitDue) -> HoldRevisitPrompt | None:
    """Record the prompt of this hold and date; None if it was already sent (here or by another replica)."""
    sent = session.exec(select(HoldRevisitPrompt.id).where(HoldRevisitPrompt.outcome_id == outcome.id,
                                                           HoldRevisitPrompt.revisit_on == due.revisit_on)).first()
    if sent is not None:
        return None
    prompt = HoldRevisitPrompt(team_id=outcome.team_id, outcome_id=outcome.id, revisit_on=due.revisit_on,
                               recipient=due.recipient)
    try:
        with session.begin_nested():
            session.add(prompt)
            session.flush()
    except IntegrityError:
        return None
    return prompt


def open_revisit_prompts(session: Session, *, initiative: Initiative) -> list[SlackMessage]:
    """The revisit prompts of the initiative's holds that still show their buttons: posted or queued, and not
    updated since (a decision updates them)."""
    prompt_ids = session.exec(select(HoldRevisitPrompt.id).join(
        InitiativeOutcome, col(InitiativeOutcome.id) == HoldRevisitPrompt.outcome_id).where(
        InitiativeOutcome.initiative_id == initiative.id)).all()
    messages = [live_message(session, team_id=initiative.team_id, kind=REVISIT_PROMPT, subject=prompt_id)
                for prompt_id in prompt_ids]
    return [message for message in messages if message is not None and not was_updated(session, message)]
