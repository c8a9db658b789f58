"""The transaction that records a decision writes, enqueues and commits: it renders no message, no condition's news
and no App Home (the outbox sender renders them when it sends them), gathers nothing for the modal shown next (read
after the commit), and its SQL statements do not grow with the portfolio around it: the service's transaction, on
both backends; the portfolio is seeded with bulk inserts. (The listener's whole transaction over signed HTTP:
tests/listeners/test_decision_transaction.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slack_sdk.models.blocks import Block
from sqlalchemy import Engine, event, insert, update
from sqlmodel import SQLModel, select

from bot.config import load_settings
from bot.delivery.outbox import RENDER
from bot.runtime import Runtime
from bot.services.initiatives.service import create_initiative
from bot.services.reviews import service as reviews
from bot.services.tracked_items.conditions import DraftCondition
from bot.wiring import build_runtime
from storage.models import (
    AuditEvent,
    GateReview,
    Initiative,
    OutboxMessage,
    OwnerAssignment,
    SignOff,
    StageTransition,
    Workspace,
)
from storage.types import utcnow
from tests.support.factories import TEAM, actor

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}


def seed_portfolio(runtime: Runtime, *, initiatives: int) -> None:
    """`initiatives` more initiatives owned by the same three people, a third of them in review with their three
    sign-offs pending: the decider's Home and lists grow with them."""
    now = utcnow()
    with runtime.transaction() as session:
        workspace = session.get(Workspace, TEAM)
        assert workspace is not None
        first = workspace.next_initiative_number
        # Each initiative's first transition cites an audit event; the workspace's first one serves for all.
        cause = session.exec(select(AuditEvent.id).where(AuditEvent.team_id == TEAM).limit(1)).one()
        transitions = [StageTransition(team_id=TEAM, initiative_id=0, to_stage="idea", at=now, actor="UBIZ",
                                       audit_event_id=cause) for _ in range(initiatives)]
        ids = list(session.scalars(insert(Initiative).returning(Initiative.id), [
            _row(Initiative(team_id=TEAM, number=first + n, title=f"Portfolio {first + n}", stage="idea",
                            stage_entered_at=now, current_transition_id=transition.id, created_by="UBIZ"))
            for n, transition in enumerate(transitions)]))
        session.execute(insert(StageTransition), [
            _row(transition) | {"id": transition.id, "initiative_id": initiative_id}
            for transition, initiative_id in zip(transitions, ids, strict=True)])
        session.execute(update(Workspace).where(Workspace.team_id == TEAM)  # type: ignore[arg-type]
                        .values(next_initiative_number=first + initiatives))
        session.execute(insert(OwnerAssignment), [
            _row(OwnerAssignment(team_id=TEAM, initiative_id=initiative_id, role=role, user_id=user,
                                 assigned_by="UBIZ"))
            for initiative_id in ids for role, user in OWNERS.items()])
        in_review = ids[::3]
        review_ids = list(session.scalars(insert(GateReview).returning(GateReview.id), [
            _row(GateReview(team_id=TEAM, initiative_id=initiative_id, gate_slug="idea-to-pilot", from_stage="idea",
                            to_stage="pilot", definition_version=1, sla_business_days=5, opened_by="UBIZ"))
            for initiative_id in in_review]))
        session.execute(insert(SignOff), [
            _row(SignOff(team_id=TEAM, review_id=review_id, role=role, assignee=user))
            for review_id in review_ids for role, user in OWNERS.items()])


def _row(model: SQLModel) -> dict[str, object]:
    return model.model_dump(exclude={"id"})


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    executed: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        executed.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield executed
    finally:
        event.remove(engine, "before_cursor_execute", count)


def production_runtime(runtime: Runtime, **settings: str) -> Runtime:
    """The production wiring (every event handler and renderer) on the test's engine."""
    wired = build_runtime(load_settings(_env_file=None, **settings), database_url=str(runtime.engine.url))
    wired.engine = runtime.engine
    return wired


def open_review(wired: Runtime, title: str) -> tuple[GateReview, list[SignOff], dict[int, list[str]]]:
    """A new low-risk initiative in review: the review, its three sign-offs and each one's checklist item ids."""
    with wired.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ"), title=title, owners=OWNERS, risk_tier="low")
        review = reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative)
        sign_offs = reviews.sign_offs_of(session, review_id=review.id)
        checklists = {s.id: [item.id for item in reviews.checklist_of(session, s, review)] for s in sign_offs}
    return review, sign_offs, checklists  # type: ignore[return-value]


@contextmanager
def block_kit_built() -> Iterator[list[str]]:
    """The Block Kit blocks built while the block is open (every message, modal and Home is made of them)."""
    built: list[str] = []
    original = Block.__init__

    def counting(self: Block, *args: Any, **kwargs: Any) -> None:
        built.append(type(self).__name__)
        original(self, *args, **kwargs)

    Block.__init__ = counting  # type: ignore[method-assign]
    try:
        yield built
    finally:
        Block.__init__ = original  # type: ignore[method-assign]


def test_a_decision_renders_no_block_kit_inside_its_transaction(runtime: Runtime) -> None:
    """Approvals (the first a Conditional Go; the last passes the gate: the DM updates, the news to the other
    owners, the announcement, the condition's news to its owner) and a request for changes (which cancels the other
    sign-offs) queue what Slack will show, and render none of it: the sender renders each message when it sends it."""
    wired = production_runtime(runtime, digest_channel="CDIGEST")  # where a passed gate is announced
    passing_review, passing, checklists = open_review(wired, "Churn model")
    _, sent_back, _ = open_review(wired, "Fraud model")

    rendered = []
    for number, sign_off in enumerate(passing):
        conditions = [DraftCondition(text="Retraining pipeline in place", owner="UENG")] if number == 0 else []
        with block_kit_built() as built, wired.transaction() as session:
            reviews.approve(session, actor=actor(sign_off.assignee), sign_off_id=sign_off.id,
                            ticked=checklists[sign_off.id], conditions=conditions)
        rendered.append(built)
    with block_kit_built() as built, wired.transaction() as session:
        reviews.request_changes(session, actor=actor("UDATA"), sign_off_id=sent_back[1].id, reason="Data gaps")
    rendered.append(built)

    assert rendered == [[], [], [], []]
    with wired.transaction() as session:
        assert session.get(GateReview, passing_review.id).state == "passed"  # type: ignore[union-attr]
        queued = session.exec(select(OutboxMessage).where(OutboxMessage.state == "pending")).all()
    # What the decisions queued is there to be rendered: DM updates, news, the announcement, Homes.
    assert {message.payload.get(RENDER) for message in queued} >= {"home", "sign_off_dm", "decision_news",
                                                                   "gate_passed", "condition_news"}


def approvals_counted(wired: Runtime, title: str) -> tuple[int, int]:
    """Statements of the first approval of a new review (the gate stays closed) and of its last (the gate
    passes), each a whole transaction with the production event handlers."""
    _, sign_offs, checklists = open_review(wired, title)
    counts = []
    for sign_off in sign_offs:
        with statements(wired.engine) as executed, wired.transaction() as session:
            reviews.approve(session, actor=actor(sign_off.assignee), sign_off_id=sign_off.id,
                            ticked=checklists[sign_off.id])
        counts.append(len(executed))
    return counts[0], counts[-1]


def test_an_approval_costs_as_many_statements_with_1000_initiatives_as_with_10(runtime: Runtime) -> None:
    wired = production_runtime(runtime)
    seed_portfolio(runtime, initiatives=10)
    small = approvals_counted(wired, "Churn model")
    seed_portfolio(runtime, initiatives=990)
    large = approvals_counted(wired, "Fraud model")

    assert large == small
    # (not passing, passing): 30 and 48 on SQLite since a decision also records conditions, waivers with their
    # expiry, the next gate's target date and gate.decided (28 and 41 before; 32 and 46 when cards were rendered
    # inside the transaction, 61 and 87 when Homes were too). A bound with a little room, so that a regression shows.
    assert small[0] <= 32 and small[1] <= 51, small
