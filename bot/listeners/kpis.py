"""`/initiative kpi …` (record an actual, open the KPI modal, define a KPI), the KPI modal's submission, and the
"Record KPI actuals" button of the nudge DM's KPI requests."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.commands.kpi_grammar import DefineKpi, parse_kpi
from bot.commands.registry import Arguments, CommandContext, Reply, Subcommand
from bot.listeners.middleware import RequestActor
from bot.listeners.surfaces import show_view, tell, today_of
from bot.runtime import Runtime
from bot.services.access.service import Actor, Audience
from bot.services.errors import DomainError, InvalidInput
from bot.services.initiatives import service as initiatives
from bot.services.kpis import service as kpi_rules
from bot.views import forms, ids, modals, replies
from bot.views import kpis as views
from storage.models import Initiative


def kpi(ctx: CommandContext, args: Arguments) -> Reply | None:
    command = parse_kpi(args)
    if isinstance(command, DefineKpi):
        return _define(ctx, command)
    if command.value is None:
        with ctx.runtime.read() as session:
            view = _record_modal(session, ctx.runtime, ctx.actor, command.key)
        ctx.client.views_open(trigger_id=ctx.trigger_id, view=view)
        return None
    with ctx.runtime.transaction() as session:
        initiative = _initiative(session, ctx.actor, command.key)
        today = today_of(session, ctx.runtime, ctx.actor)
        recorded = kpi_rules.record_actual(session, actor=ctx.actor, initiative=initiative, value=command.value,
                                           kpi_name=command.kpi_name, measured_on=command.measured_on or today,
                                           today=today, note=command.note)
        return replies.done(views.recorded_text(initiative, recorded))


def _define(ctx: CommandContext, command: DefineKpi) -> Reply:
    with ctx.runtime.transaction() as session:
        initiative = _initiative(session, ctx.actor, command.key)
        defined = kpi_rules.define_kpi(session, actor=ctx.actor, initiative=initiative, name=command.name,
                                       baseline=command.baseline, target=command.target,
                                       direction=command.direction, target_date=command.target_date)
        return replies.done(f"{initiative.key}'s KPI {views.definition(defined)}. Record actuals with "
                            f'`/initiative kpi {initiative.key} "{defined.name}" <value>`.')


KPI = Subcommand("kpi", kpi, opens_modal=True, usage=(
    "/initiative kpi <KEY> <value> [YYYY-MM-DD] [note]   -> owners/sponsor/admins: an actual of its first KPI",
    '/initiative kpi <KEY> "<kpi name>" <value> [YYYY-MM-DD] [note]   -> an actual of the KPI of that name',
    "/initiative kpi <KEY>   -> opens the KPI modal, to record or correct an actual",
    '/initiative kpi <KEY> define "<kpi name>" baseline=4.2% target=3.5% [direction=lower] [by=YYYY-MM-DD]',
))


def register(app: App, runtime: Runtime) -> None:
    @app.action(ids.KPI_RECORD)
    def on_record(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, actor: RequestActor) -> None:
        ack()
        try:
            key = ids.decode_initiative_key(body["actions"][0].get("value"))
            with runtime.read() as session:
                view = _record_modal(session, runtime, actor.in_session(session), key)
        except DomainError as error:
            tell(body, client, respond, str(error))
            return
        show_view(body, client, view)

    @app.view(ids.KPI_MODAL)
    def on_submitted(ack: Ack, view: dict[str, Any], actor: RequestActor) -> None:
        values = view["state"]["values"]
        answers = forms.read_kpi(values)
        try:
            key = ids.decode_initiative_context(view.get("private_metadata")).key
            with runtime.transaction() as session:
                recorder = actor.in_session(session)
                initiative = _initiative(session, recorder, key)
                recorded = kpi_rules.record_actual(
                    session, actor=recorder, initiative=initiative, value=answers.value, position=answers.position,
                    measured_on=answers.measured_on, today=today_of(session, runtime, recorder),
                    note=answers.note)
                done = views.recorded_text(initiative, recorded)
        except InvalidInput as error:
            if isinstance(error, ids.StaleForm):
                ack(response_action="update", view=modals.notice(str(error)))
            else:
                ack(response_action="errors", errors=forms.outcome_errors(error, values))
            return
        except DomainError as error:
            ack(response_action="update", view=modals.notice(str(error)))
            return
        ack(response_action="update", view=modals.notice(done))


def _record_modal(session: Session, runtime: Runtime, actor: Actor, key: str) -> dict[str, Any]:
    initiative = _initiative(session, actor, key)
    kpi_rules.require_recorder(session, actor=actor, initiative=initiative)
    kpis = kpi_rules.kpis_of(session, initiative_id=initiative.id)
    kpi_rules.find_kpi(kpis, None)  # none yet: says how to define one
    return views.record_modal(initiative, kpis, today=today_of(session, runtime, actor))


def _initiative(session: Session, actor: Actor, key: str) -> Initiative:
    return initiatives.get_initiative(session, audience=Audience.of(actor), key=key)
