"""`/initiative classify KEY` (the questionnaire modal) and `/initiative classify KEY override TIER <reason>`, the
"Classify" button on an initiative's card and after it is recorded, the modal's submission, and `/initiative
compliance KEY` (its controls)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.commands.grammar import parse_classify, parse_key_command
from bot.commands.registry import Arguments, CommandContext, Reply, Subcommand
from bot.listeners.middleware import RequestActor
from bot.listeners.surfaces import show_view, tell
from bot.runtime import Runtime
from bot.services.access.service import Actor, Audience
from bot.services.errors import DomainError
from bot.services.initiatives import service as initiatives
from bot.services.regulation import service as regulation
from bot.services.regulation.service import build_report
from bot.views import forms, ids, modals, replies
from bot.views import regulation as views
from storage.models import Initiative
from storage.types import utcnow


def classify(ctx: CommandContext, args: Arguments) -> Reply | None:
    command = parse_classify(args)
    if command.override_tier is None:
        with ctx.runtime.transaction() as session:  # the first use stores the shipped questionnaire
            view = _classify_modal(session, ctx.actor, command.key)
        ctx.client.views_open(trigger_id=ctx.trigger_id, view=view)
        return None
    with ctx.runtime.transaction() as session:
        initiative = _initiative(session, ctx.actor, command.key, for_update=True)
        row = regulation.override_risk_tier(session, actor=ctx.actor, initiative=initiative,
                                            risk_tier=command.override_tier, reason=command.reason)
        return replies.done(views.overridden_text(initiative, row))


CLASSIFY = Subcommand("classify", classify, opens_modal=True, usage=(
    "/initiative classify <KEY>   -> owners/admins: the EU AI Act screening questions; the result sets its risk tier",
    "/initiative classify <KEY> override <low|medium|high> <reason>   -> its compliance owner: another risk tier",
))


def compliance(ctx: CommandContext, args: Arguments) -> Reply:
    key = parse_key_command(args).key
    with ctx.runtime.transaction() as session:  # the first use stores the shipped catalog
        initiative = _initiative(session, ctx.actor, key)
        report = build_report(session, catalog=regulation.controls_for(session, team_id=initiative.team_id),
                              initiatives=[initiative], today=utcnow().date())
    text, blocks = views.compliance_reply(report)
    return Reply(text=text, blocks=blocks)


COMPLIANCE = Subcommand("compliance", compliance, usage=(
    "/initiative compliance <KEY>   -> its controls (EU AI Act, NIST AI RMF, ISO/IEC 42001): met, waived or open",
))


def register(app: App, runtime: Runtime) -> None:
    @app.action(ids.CLASSIFY)
    def on_classify(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond,
                    actor: RequestActor) -> None:
        ack()
        try:
            key = ids.decode_initiative_key(body["actions"][0].get("value"))
            with runtime.transaction() as session:
                view = _classify_modal(session, actor.in_session(session), key)
        except DomainError as error:
            tell(body, client, respond, str(error))
            return
        show_view(body, client, view)

    @app.view(ids.CLASSIFY_MODAL)
    def on_classify_submitted(ack: Ack, view: dict[str, Any], actor: RequestActor) -> None:
        values = view["state"]["values"]
        try:
            context = ids.decode_classify_context(view.get("private_metadata"))
            with runtime.transaction() as session:
                decider = actor.in_session(session)
                initiative = _initiative(session, decider, context.key, for_update=True)
                row = regulation.classify(session, actor=decider, initiative=initiative,
                                          answers=forms.read_classification(values), version=context.version)
                done = views.classified_text(initiative, row, regulation.questionnaire_for(
                    session, team_id=initiative.team_id, version=row.questionnaire_version))
        except regulation.UnansweredQuestions as error:
            ack(response_action="errors", errors=forms.classification_errors(error, values))
            return
        except DomainError as error:
            ack(response_action="update", view=modals.notice(str(error)))
            return
        ack(response_action="update", view=modals.notice(done, title="Classified"))


def _classify_modal(session: Session, actor: Actor, key: str) -> dict[str, Any]:
    initiative = _initiative(session, actor, key)
    regulation.check_may_classify(session, actor=actor, initiative=initiative)
    standing = regulation.standing_classification(session, initiative=initiative)
    questionnaire = regulation.questionnaire_for(session, team_id=initiative.team_id)
    return views.classify_modal(initiative, questionnaire, previous=standing.answers if standing else None)


def _initiative(session: Session, actor: Actor, key: str, *, for_update: bool = False) -> Initiative:
    return initiatives.get_initiative(session, audience=Audience.of(actor), key=key, for_update=for_update)

