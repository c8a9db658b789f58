"""The nudge and escalation DMs as Slack would render them: within Block Kit's limits, buttons, "and N more"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.services.kpis.scheduled import KpiUpdateDue
from bot.services.nudges.policy import ESCALATION, NUDGE, World, plan
from bot.services.waiting.service import OpenItem
from bot.views import ids
from bot.views.nudges import nudge_message, without_sign_offs
from slack_emulator import validate_blocks
from tests.services.nudges.policy_support import pending

ASKED = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday, two weeks before
NOW = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)


def _notices(count: int) -> dict[str, object]:
    items = [pending(n, "UOWNER", ASKED + timedelta(minutes=n), key=f"AI-{n}") for n in range(1, count + 1)]
    notices = plan(World(pending=items, default_zone=ZoneInfo("UTC"), admins=("UADMIN",)), NOW).notices
    return {n.kind: n for n in notices}


def test_a_long_list_stays_within_block_kit_and_points_to_app_home():
    notices = _notices(40)
    nudge = nudge_message(notices[NUDGE])
    escalation = nudge_message(notices[ESCALATION])

    validate_blocks(nudge.blocks, "message")
    validate_blocks(escalation.blocks, "message")
    assert len(nudge.blocks) <= 50 and len(escalation.blocks) <= 50
    assert nudge.text == "Reminder: 40 sign-offs waiting for your decision."
    assert nudge.blocks[-3]["elements"][0]["text"].startswith("…and 27 more. Open the *Home* tab")
    assert escalation.blocks[-2]["elements"][0]["text"].startswith("…and 20 more.")


def test_each_listed_sign_off_has_its_decision_buttons_and_the_dm_its_snoozes():
    nudge = nudge_message(_notices(2)[NUDGE])

    buttons = [(e["action_id"], e["value"]) for b in nudge.blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [(ids.APPROVE, "1"), (ids.REQUEST_CHANGES, "1"), (ids.APPROVE, "2"),
                       (ids.REQUEST_CHANGES, "2"), (ids.SNOOZE_ONE_DAY, "1d"), (ids.SNOOZE_UNTIL_MONDAY, "monday")]
    assert ":red_circle: *Overdue* since <!date^" in nudge.blocks[2]["text"]["text"]


def test_dropping_decided_sign_offs_keeps_the_rest_and_recounts():
    payload = nudge_message(_notices(3)[NUDGE]).payload()

    fewer = without_sign_offs(payload, {2}, NUDGE)

    assert fewer is not None
    assert [b.get("block_id") for b in fewer["blocks"] if str(b.get("block_id")).startswith("nudge.")] == [
        "nudge.count", "nudge.item.1", "nudge.actions.1", "nudge.item.3", "nudge.actions.3", ids.SNOOZE_BLOCK]
    assert fewer["text"] == "Reminder: 2 sign-offs waiting for your decision."
    assert fewer["blocks"][1]["text"]["text"].startswith("*2 sign-offs*")
    assert without_sign_offs(payload, {1, 2, 3}, NUDGE) is None
    assert payload["blocks"][1]["text"]["text"].startswith("*3 sign-offs*")  # the original is left as it was


def test_conditions_share_the_dm_stay_within_block_kit_and_leave_it_once_closed():
    due = NOW.date() + timedelta(days=1)
    items = [OpenItem(item_id=n, kind="condition", key=f"AI-9-C{n}", initiative_id=9, initiative_key="AI-9",
                      initiative_title="Claims", gate_name="Pilot approval", text=f"Condition {n}", owner="UOWNER",
                      due_on=due, created_at=ASKED) for n in range(1, 21)]
    sign_offs = [pending(n, "UOWNER", ASKED + timedelta(minutes=n), key=f"AI-{n}") for n in range(1, 41)]
    world = World(pending=sign_offs, open_items=items, default_zone=ZoneInfo("UTC"), admins=("UADMIN",))
    [notice] = [n for n in plan(world, NOW).notices if n.kind == NUDGE]
    message = nudge_message(notice)
    validate_blocks(message.blocks, "message")
    assert len(message.blocks) <= 50
    assert message.text == "Reminder: 40 sign-offs waiting for your decision. Also 20 conditions to meet."
    assert "…and 12 more. `/initiative conditions mine`" in str(message.blocks)

    only = nudge_message(plan(World(pending=[], open_items=items[:2], default_zone=ZoneInfo("UTC")), NOW).notices[0])
    assert only.text == "Reminder: 2 conditions to meet."
    assert without_sign_offs(only.payload(), set(), NUDGE, {1})["text"] == "Reminder: 1 condition to meet."
    assert without_sign_offs(only.payload(), set(), NUDGE, {1, 2}) is None


def test_kpi_requests_share_the_dm_each_with_its_button_within_block_kit_and_a_dm_of_them_alone_stays():
    kpis = [KpiUpdateDue(team_id="T1", initiative_id=n, key=f"AI-{n}", title=f"Model {n}", kpi_names=("Churn",),
                         due_on=NOW.date(), recipient="UOWNER") for n in range(1, 9)]
    items = [OpenItem(item_id=n, kind="condition", key=f"AI-9-C{n}", initiative_id=9, initiative_key="AI-9",
                      initiative_title="Claims", gate_name="Pilot approval", text=f"Condition {n}", owner="UOWNER",
                      due_on=NOW.date(), created_at=ASKED) for n in range(1, 21)]
    sign_offs = [pending(n, "UOWNER", ASKED + timedelta(minutes=n), key=f"AI-{n}") for n in range(1, 41)]
    world = World(pending=sign_offs, open_items=items, kpi_updates=kpis, default_zone=ZoneInfo("UTC"))
    [notice] = [n for n in plan(world, NOW).notices if n.kind == NUDGE]
    full = nudge_message(notice)
    validate_blocks(full.blocks, "message")
    assert len(full.blocks) <= 50
    assert full.text.endswith("KPI actuals to record on 8 live initiatives.")
    assert [e["value"] for b in full.blocks if (e := b.get("accessory"))] == ["AI-1", "AI-2", "AI-3", "AI-4", "AI-5"]
    assert "…and 3 more." in str(full.blocks)

    alone = nudge_message(plan(World(pending=[], kpi_updates=kpis[:1], default_zone=ZoneInfo("UTC")), NOW).notices[0])
    assert alone.text == "Reminder: KPI actuals to record on 1 live initiative."
    assert alone.blocks[0]["text"]["text"] == "KPI actuals to record"
    assert without_sign_offs(alone.payload(), set(), NUDGE) == alone.payload()  # nothing it lists was decided
