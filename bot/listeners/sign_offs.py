"""Sign-off buttons (in DMs and App Home: Approve, Approve with conditions, Request changes) and the checklist
and Request changes modals.

A click opens its modal at once (the trigger lasts 3 seconds); the decision is made on submission. A refused
click changes nothing and is answered where it came from (see surfaces.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.integrations.targets import evidence_policy
from bot.listeners.middleware import RequestActor
from bot.listeners.surfaces import clicked_in_message, tell, today_of
from bot.notifications import republish_homes, update_sign_off_request
from bot.presenters import sign_off_card
from bot.runtime import Runtime
from bot.services.access.service import Actor
from bot.services.errors import DomainError, InvalidInput
from bot.services.reviews import service as reviews
from bot.services.tracked_items.service import parse_conditions
from bot.views import forms, ids, modals
from bot.views.messages import SignOffCard, already_decided
from storage.models import SignOff


def register(app: App, runtime: Runtime) -> None:
    @app.action(ids.APPROVE)
    def on_approve(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, actor: RequestActor) -> None:
        ack()
        _open_decision_modal(runtime, body, client, respond, actor, approve=True)

    @app.action(ids.APPROVE_WITH_CONDITIONS)
    def on_approve_with_conditions(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond,
                                   actor: RequestActor) -> None:
        ack()
        _open_decision_modal(runtime, body, client, respond, actor, approve=True, with_conditions=True)

    @app.action(ids.REQUEST_CHANGES)
    def on_request_changes(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond,
                           actor: RequestActor) -> None:
        ack()
        _open_decision_modal(runtime, body, client, respond, actor, approve=False)

    @app.action(ids.TICKED)
    def on_tick(ack: Ack) -> None:
        ack()  # a tick in the checklist modal: read when the modal is submitted

    @app.view(ids.CHECKLIST_MODAL)
    def on_checklist(ack: Ack, view: dict[str, Any], actor: RequestActor) -> None:
        answers = forms.read_checklist(view["state"]["values"])
        if answers.unused_reason:
            ack(response_action="errors", errors={ids.WAIVE_REASON_BLOCK: forms.UNUSED_REASON})
            return
        with runtime.read() as session:  # "tomorrow or later" on the signer's calendar, not UTC's
            today = today_of(session, runtime, actor.in_session(session))
        try:  # nothing is saved while a line cannot be read: it is named under the Conditions input
            conditions = parse_conditions(answers.condition_lines, today=today)
        except InvalidInput as error:
            ack(response_action="errors", errors=forms.checklist_errors(error, view))
            return
        links = reviews.vet_evidence_links(answers.evidence_links, policy=evidence_policy(runtime.settings))
        _decide(runtime, ack, view, actor, lambda session, decider, sign_off_id: reviews.approve(
            session, actor=decider, sign_off_id=sign_off_id, ticked=answers.ticked, waivers=answers.waivers,
            comment=answers.comment, evidence_links=links, conditions=conditions,
            waivers_expire_on=answers.waivers_expire_on, target_on=answers.target_on,
        ), errors_for=lambda error: forms.checklist_errors(error, view))

    @app.view(ids.REQUEST_CHANGES_MODAL)
    def on_request_changes_submitted(ack: Ack, view: dict[str, Any], actor: RequestActor) -> None:
        reason = forms.read_reason(view["state"]["values"])
        _decide(runtime, ack, view, actor, lambda session, decider, sign_off_id: reviews.request_changes(
            session, actor=decider, sign_off_id=sign_off_id, reason=reason,
        ), errors_for=lambda error: {ids.REASON_BLOCK: str(error)})


def _open_decision_modal(runtime: Runtime, body: dict[str, Any], client: WebClient, respond: Respond,
                         request_actor: RequestActor, *, approve: bool, with_conditions: bool = False) -> None:
    try:
        sign_off_id = ids.decode_sign_off_value(body["actions"][0].get("value"))
        with runtime.read() as session:
            actor = request_actor.in_session(session)
            found = reviews.sign_off_to_decide(session, actor=actor, sign_off_id=sign_off_id)
            card = sign_off_card(session, found.sign_off, default_zone=runtime.settings.default_zone)
            if found.sign_off.state == "pending":
                view = (modals.checklist(card, with_conditions=with_conditions) if approve
                        else modals.request_changes(card))
            else:
                view, message = None, already_decided(found.initiative, found.sign_off, card.role_name)
        if view is None:
            _bring_up_to_date(runtime, body, actor, sign_off_id)
    except DomainError as error:
        tell(body, client, respond, str(error))
        return
    if view is None:
        tell(body, client, respond, message)
    else:
        client.views_open(trigger_id=body["trigger_id"], view=view)


def _bring_up_to_date(runtime: Runtime, body: dict[str, Any], actor: Actor, sign_off_id: int) -> None:
    """An outdated copy of a sign-off request was clicked: update that copy (a DM), or the person's Home."""
    with runtime.transaction() as session:
        if clicked_in_message(body):
            sign_off = session.get(SignOff, sign_off_id)
            assert sign_off is not None  # it was just read, and sign-offs are never deleted
            update_sign_off_request(session, sign_off, channel=body["container"]["channel_id"],
                                    ts=body["container"]["message_ts"])
        else:
            republish_homes(session, team_id=actor.team_id, user_ids=[actor.user_id])


def _decide(runtime: Runtime, ack: Ack, view: dict[str, Any], request_actor: RequestActor,
            decide: Callable[[Session, Actor, int], reviews.Decision], *,
            errors_for: Callable[[InvalidInput], dict[str, str]]) -> None:
    """Record the decision; a refusal or bad input comes back inside the modal. The decision's transaction writes,
    enqueues and commits; what the modal shows next is read and rendered after the commit, in a read-only one."""
    try:
        sign_off_id = ids.decode_modal_context(view.get("private_metadata")).sign_off_id
        with runtime.transaction() as session:
            actor = request_actor.in_session(session)
            decision = decide(session, actor, sign_off_id)
        with runtime.read() as session:
            outcome = None if decision.recorded else already_decided(  # the card only when it was decided before
                decision.initiative, decision.sign_off,
                sign_off_card(session, decision.sign_off, default_zone=runtime.settings.default_zone).role_name)
            following = (_next_to_decide(session, actor, decision, default_zone=runtime.settings.default_zone)
                         if decision.recorded else None)
    except InvalidInput as error:
        if isinstance(error, ids.StaleForm):
            ack(response_action="update", view=modals.notice(str(error)))
        else:
            ack(response_action="errors", errors=errors_for(error))
        return
    except DomainError as error:
        ack(response_action="update", view=modals.notice(str(error)))
        return
    if outcome:
        ack(response_action="update", view=modals.notice(outcome))
    elif following:
        ack(response_action="update", view=modals.checklist(following))
    else:
        ack()


def _next_to_decide(session: Session, actor: Actor, decision: reviews.Decision, *,
                    default_zone: ZoneInfo) -> SignOffCard | None:
    """Someone holding two roles on one review gets the second checklist right after the first: its card."""
    if decision.sign_off.state != "approved" or decision.gate_passed:
        return None
    pending = reviews.next_pending_on_review(session, review_id=decision.review.id, user_id=actor.user_id)
    return sign_off_card(session, pending, default_zone=default_zone) if pending is not None else None
