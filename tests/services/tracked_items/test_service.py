"""Tracked items through the services, on SQLite and PostgreSQL: numbering, who may close, cancel or reassign,
overdue recorded once; and the nudge policy covering sign-offs and conditions in one DM a day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.presenters import home_view
from bot.services.access.people import record_profile
from bot.services.access.visibility import Audience
from bot.services.business_days import WorkCalendar
from bot.services.errors import Conflict, InvalidInput, PermissionDenied
from bot.services.initiatives.service import create_initiative, get_initiative
from bot.services.nudges.policy import ESCALATION, NUDGE, World, plan
from bot.services.tracked_items import service as tracked_items
from bot.services.waiting.service import OpenItem, Pending
from storage.models import AuditEvent, TrackedItem
from storage.types import utcnow
from tests.support.factories import TEAM, actor

EVERYONE = Audience.workspace(team_id="T0TEST")
OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG", "sponsor": "USPONSOR"}
UTC_ZONE = ZoneInfo("UTC")


def _conditions(runtime, *texts: str) -> list[str]:
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ"), title="Fraud scoring", risk_tier="low",
                                       owners=OWNERS)
        made = [tracked_items.create_item(session, actor="UBIZ", initiative=initiative, kind="condition", text=text,
                                          owner="UDATA", due_on=date(2026, 12, 16), gate_slug="idea-to-pilot",
                                          stage="pilot") for text in texts]
        return [tracked_items.key_of(initiative, item) for item in made]


def _do(runtime, key: str, what, *args, **kwargs):
    with runtime.transaction() as session:
        initiative, item = tracked_items.find_item(session, audience=EVERYONE, key=key, for_update=True)
        return what(session, *args, initiative=initiative, item=item, **kwargs)


def test_numbers_count_per_initiative_and_only_the_entitled_close_cancel_or_reassign(runtime):
    assert _conditions(runtime, "Model card", "Load test") == ["AI-1-C1", "AI-1-C2"]
    with pytest.raises(PermissionDenied, match="owner, AI-1's sponsor or an admin"):
        _do(runtime, "AI-1-C1", tracked_items.meet, actor=actor("UENG"), evidence="done")
    with pytest.raises(InvalidInput, match="Say how AI-1-C1 was met"):
        _do(runtime, "AI-1-C1", tracked_items.meet, actor=actor("UDATA"), evidence="  ")
    _do(runtime, "AI-1-C1", tracked_items.meet, actor=actor("USPONSOR"), evidence="published on the wiki")
    with pytest.raises(Conflict, match="already met"):
        _do(runtime, "AI-1-C1", tracked_items.cancel, actor=actor("UADMIN", admin=True), reason="no")
    with pytest.raises(PermissionDenied, match="sponsor or an admin can reassign"):
        _do(runtime, "AI-1-C2", tracked_items.reassign, actor=actor("UDATA"), owner="UENG", reason="busy")
    _do(runtime, "AI-1-C2", tracked_items.reassign, actor=actor("UADMIN", admin=True), owner="UENG", reason="busy")
    with runtime.transaction() as session:
        rows = session.exec(select(TrackedItem).order_by(TrackedItem.id)).all()
        assert [(r.state, r.owner, r.closed_by) for r in rows] == [("met", "UDATA", "USPONSOR"),
                                                                  ("open", "UENG", None)]
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.action.startswith("condition"))
                                                  .order_by(AuditEvent.id))]
        assert actions == ["condition.created", "condition.created", "condition.met", "condition.reassigned"]
    with pytest.raises(InvalidInput, match="like AI-7-C1"):
        _do(runtime, "AI-1", tracked_items.cancel, actor=actor("USPONSOR"), reason="x")


def test_overdue_is_recorded_once_after_17_00_in_the_owners_zone(runtime):
    _conditions(runtime, "Model card")
    calendar = WorkCalendar(default_zone=UTC_ZONE, zones={"UDATA": ZoneInfo("America/New_York")})
    with runtime.transaction() as session:  # 17:30 UTC is 12:30 in New York: not yet
        assert tracked_items.record_overdue(session, team_id="T0TEST", calendar=calendar,
                                            now=datetime(2026, 12, 16, 17, 30, tzinfo=UTC)) == []
    marked = []
    for _sweep in range(2):
        with runtime.transaction() as session:
            marked.append([item.number for item in tracked_items.record_overdue(
                session, team_id="T0TEST", calendar=calendar, now=datetime(2026, 12, 16, 23, 0, tzinfo=UTC))])
    assert marked == [[1], []]  # the second sweep finds it already marked
    with runtime.transaction() as session:
        assert [e.subject_key for e in session.exec(select(AuditEvent).where(
            AuditEvent.action == "condition.overdue"))] == ["AI-1-C1"]
        initiative = get_initiative(session, audience=EVERYONE, key="AI-1")
        assert tracked_items.items_of(session, initiative_id=initiative.id)[0].overdue_at == datetime(
            2026, 12, 16, 23, 0, tzinfo=UTC)


def _pending() -> Pending:
    return Pending(sign_off_id=1, initiative_key="AI-1", initiative_title="Fraud", gate_name="Pilot approval",
                   role="data", role_name="Data owner", assignee="UDATA",
                   requested_at=datetime(2026, 12, 7, 9, tzinfo=UTC), sla_business_days=5, escalate_to="USPONSOR")


def _item(due_on: date) -> OpenItem:
    return OpenItem(item_id=1, kind="condition", key="AI-2-C1", initiative_id=2, initiative_key="AI-2",
                    initiative_title="Claims", gate_name="Pilot approval", text="Model card", owner="UDATA",
                    due_on=due_on, created_at=datetime(2026, 12, 1, tzinfo=UTC), escalate_to="USPONSOR")


def test_one_dm_a_day_covers_sign_offs_and_conditions_and_an_overdue_condition_escalates():
    world = World(pending=[_pending()], open_items=[_item(date(2026, 12, 10))], default_zone=UTC_ZONE,
                  admins=["UADMIN"])
    wednesday = datetime(2026, 12, 9, 10, tzinfo=UTC)  # the sign-off waited 2 business days; the condition is due
    [notice] = plan(world, wednesday).notices  # tomorrow
    assert (notice.kind, notice.recipient, notice.sign_off_ids, notice.item_ids) == (NUDGE, "UDATA", [1], [1])
    assert notice.reminded_item_ids == [1]
    far = World(pending=[], open_items=[_item(date(2026, 12, 24))], default_zone=UTC_ZONE)
    assert plan(far, wednesday).notices == []  # not near its date yet
    overdue = plan(World(pending=[], open_items=[_item(date(2026, 12, 8))], default_zone=UTC_ZONE,
                         admins=["UADMIN"]), wednesday).notices
    assert {(n.kind, n.recipient) for n in overdue} == {(NUDGE, "UDATA"), (ESCALATION, "USPONSOR"),
                                                         (ESCALATION, "UADMIN")}
    assert all(n.lines[0].overdue for n in overdue)


def test_the_app_home_marks_a_condition_overdue_after_17_00_on_its_due_date_in_its_owners_zone(runtime):
    _conditions(runtime, "Model card")  # due Wednesday 16 December, owned by UDATA
    with runtime.transaction() as session:
        record_profile(session, team_id=TEAM, user_id="UDATA", tz="Pacific/Pago_Pago", now=utcnow())  # UTC-11

    def home_says(now: datetime) -> str:
        with runtime.transaction() as session:
            return str(home_view(session, team_id=TEAM, user_id="UDATA", now=now)["blocks"])

    # Thursday in UTC, but 16:00 on Wednesday in Pago Pago: not yet overdue.
    assert "AI-1-C1" in home_says(datetime(2026, 12, 17, 3, tzinfo=UTC))
    assert "overdue" not in home_says(datetime(2026, 12, 17, 3, tzinfo=UTC))
    assert "*overdue* since" in home_says(datetime(2026, 12, 17, 5, tzinfo=UTC))  # 18:00 there
