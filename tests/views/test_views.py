"""Every view is valid Block Kit (slack_sdk models plus the emulator's checks of Slack's limits), also at the
extremes: long text is cut with an ellipsis, long lists end in "and N more", user text is escaped."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.listeners.commands import SUBCOMMANDS
from bot.services.errors import InvalidInput
from bot.services.gates.catalog import ChecklistItem, GateCatalog, default_document
from bot.services.initiatives.search import MATCH_END, MATCH_START, Hit
from bot.services.kpis.scheduled import KpiUpdateDue
from bot.services.reviews.service import ChecklistIncomplete
from bot.services.tracked_items.conditions import DraftCondition, parse_conditions
from bot.services.waiting.service import Blockers, OpenItem, Pending, Waits
from bot.views import desk, forms, gates, home, ids, messages, modals, replies
from bot.views.desk import MyInitiative
from bot.views.plain_text import Reader, render_blocks
from bot.views.search import search_results
from bot.views.text import escape, mrkdwn
from slack_emulator import validate_blocks, validate_view
from storage.models import AuditEvent, GateReview, Initiative, SignOff
from tests.support.blockkit import mrkdwn_texts

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
CATALOG = GateCatalog.from_document(default_document(), version=1)
HOSTILE = "<!channel> & <@U0BOSS> *bold* `x` 🚀 " * 20


def initiative(number: int = 1, *, text: str = "Churn model", size: int = 0) -> Initiative:
    long = (text + " ") * size
    return Initiative(id=number, team_id="T1", number=number, title=text[:150], description=long[:3000],
                      problem=long[:3000], kpi_name=long[:200], kpi_baseline="4.2%", kpi_target=long[:100],
                      risk_tier="high", stage="idea", stage_entered_at=NOW, current_transition_id="t",
                      created_by="U0MARIA", created_at=NOW, tags=["a" * 50] * 20, business_unit=long[:100],
                      channel_id="C0001")


def review() -> GateReview:
    return GateReview(id=1, team_id="T1", initiative_id=1, gate_slug="idea-to-pilot", from_stage="idea",
                      to_stage="pilot", definition_version=1, sla_business_days=5, opened_by="U0MARIA", opened_at=NOW)


def sign_off(state: str = "pending", role: str = "data", number: int = 1) -> SignOff:
    decided = {"decided_by": "U0DEV", "decided_at": NOW + timedelta(hours=1)} if state != "pending" else {}
    return SignOff(id=number, team_id="T1", review_id=1, role=role, assignee="U0DEV", state=state,
                   requested_at=NOW, comment=HOSTILE if state != "pending" else None, **decided)


def card(*, size: int = 0, items: int = 3, links: int = 0, state: str = "pending",
         due_at: datetime = NOW + timedelta(days=7)) -> messages.SignOffCard:
    return messages.SignOffCard(
        initiative=initiative(text=HOSTILE[:150] if size else "Churn model", size=size), review=review(),
        sign_off=sign_off(state), gate_name="Pilot approval", from_stage_name="Idea", to_stage_name="Pilot",
        role_name="Data owner", checklist=tuple(ChecklistItem(id=f"item-{n}", label=f"Check {n} " + "x" * 90)
                                                for n in range(items)),
        due_at=due_at, reader_zone=ZoneInfo("Asia/Kolkata"),
        evidence_links=tuple(f"https://example.com/{n}?a=1&b=2" for n in range(links)),
    )


def assert_valid_message(message: messages.Message | replies.Reply) -> None:
    assert message.text
    assert validate_blocks(list(message.blocks), "message") == []
    assert len(message.blocks) <= 50


@pytest.mark.parametrize("size", [0, 200])
def test_sign_off_messages_are_valid_at_any_size(size: int) -> None:
    request = messages.sign_off_request(card(size=size, items=30, links=25))
    assert_valid_message(request)
    assert "…and 15 more" in str(request.blocks)
    for state in ("approved", "changes_requested", "cancelled"):
        assert_valid_message(messages.sign_off_decided(card(size=size, state=state)))
    assert_valid_message(messages.sign_off_decided(card(size=size), moved_to="U0CARL"))
    assert_valid_message(messages.decision_news(initiative(text=HOSTILE[:150]), decider="U0DEV", role_name="Data",
                                                decision="approved", gate_name="Pilot", settled=1, required=3,
                                                comment=HOSTILE))
    assert_valid_message(messages.gate_passed(initiative(), gate_name="Pilot approval", to_stage_name="Pilot",
                                              approvers=["U0A", "U0B"]))


def test_long_text_is_cut_with_an_ellipsis_and_user_text_is_escaped() -> None:
    request = messages.sign_off_request(card(size=200))
    description = request.blocks[1]["text"]["text"]
    assert description.endswith("…") and len(description) <= 600
    assert not [text for text in mrkdwn_texts(request.blocks) if "<!channel>" in text]
    assert "&lt;!channel&gt;" in str(request.blocks)
    assert "<!channel>" not in request.text
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert mrkdwn("ab&c", 5) == "ab…"  # an entity is never cut in half


def test_the_checklist_modal_splits_long_checklists_into_groups_of_ten() -> None:
    view = modals.checklist(card(items=25), comment="prefilled")
    assert validate_view(view, "modal") == []
    groups = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"] if e["type"] == "checkboxes"]
    assert [len(g["options"]) for g in groups] == [10, 10, 5]
    assert all(len(o["text"]["text"]) <= 75 for g in groups for o in g["options"])
    [waivable] = [b for b in view["blocks"] if b.get("block_id") == ids.WAIVE_BLOCK]
    assert len(waivable["element"]["options"]) == 25
    assert ids.decode_modal_context(view["private_metadata"]).sign_off_id == 1


def test_the_checklist_modal_says_what_each_input_is_and_offers_one_place_to_waive() -> None:
    view = modals.checklist(card(items=3))
    inputs = {b["block_id"]: (b["label"]["text"], b.get("optional", False)) for b in view["blocks"]
              if b["type"] == "input"}
    # Slack adds "(optional)" to an optional input's label: only to inputs that are optional for everyone.
    assert inputs == {ids.WAIVE_BLOCK: ("Waive items", True),
                      ids.WAIVE_REASON_BLOCK: ("Why they do not apply", True),
                      ids.COMMENT_BLOCK: ("Comment", True), ids.EVIDENCE_BLOCK: ("Evidence links", True),
                      ids.CONDITIONS_BLOCK: ("Conditions", True)}
    assert "*Your checklist:* tick each item that is done." in str(view["blocks"])
    assert "Checklist (optional)" not in str(view["blocks"]) and "Waive “" not in str(view["blocks"])
    nothing = modals.checklist(card(items=0))
    assert validate_view(nothing, "modal") == []
    assert ids.WAIVE_BLOCK not in str(nothing["blocks"]) and "nothing to check" in str(nothing["blocks"])


def test_the_sign_off_dm_says_when_it_is_due_and_links_to_the_initiative() -> None:
    due = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    request = messages.sign_off_request(card(due_at=due))
    assert_valid_message(request)
    read = render_blocks(request.blocks, Reader(zone=ZoneInfo("Europe/Berlin")))
    assert "Due: Dec 4, 2026 at 17:00 CET" in read.splitlines()
    assert "[Approve]  [Approve with conditions]  [Request changes]  [View initiative]" in read.splitlines()
    assert "due Fri 2026-12-04 21:30 Asia/Kolkata" in request.text  # the fallback, in the reader's zone
    [view] = [e for b in request.blocks if b["type"] == "actions" for e in b["elements"]
              if e["action_id"] == ids.VIEW_INITIATIVE]
    assert (view["text"]["text"], view["value"]) == ("View initiative", "AI-1")
    assert "*Due*" not in str(messages.sign_off_decided(card(due_at=due, state="approved")).blocks)


def test_the_initiative_modal_is_the_card_without_its_share_button() -> None:
    view = modals.initiative_card(initiative(size=300), owners={"business": "U0MARIA"}, catalog=CATALOG,
                                  review=review(), sign_offs=[sign_off()], deadlines={1: NOW + timedelta(days=7)},
                                  reader_zone=ZoneInfo("Asia/Kolkata"))
    assert validate_view(view, "modal") == []
    assert view["title"]["text"] == "Initiative AI-1" and view["close"]["text"] == "Close" and "submit" not in view
    assert "Share to channel" not in str(view["blocks"]) and "*Owners*" in str(view["blocks"])


def test_other_modals_are_valid() -> None:
    assert validate_view(modals.new_initiative(CATALOG, risk_tiers=("low", "medium", "high"), channel_id="C1"),
                         "modal") == []
    assert validate_view(modals.request_changes(card(size=200)), "modal") == []
    assert validate_view(modals.notice(HOSTILE * 10), "modal") == []


def waits(count: int, *, text: str = HOSTILE[:150]) -> list[Waits]:
    """`count` things waiting, of every kind in turn (sign-off, condition, expired waiver, KPI actuals)."""
    made: list[Waits] = []
    for n in range(count):
        since, due = NOW - timedelta(days=count - n), NOW + timedelta(days=n - 3)
        what: Pending | OpenItem | KpiUpdateDue
        if n % 4 == 0:
            what = Pending(sign_off_id=n + 1, initiative_key=f"AI-{n}", initiative_title=text, gate_name=text,
                           role="data", role_name="Data owner", assignee="U0DEV", requested_at=since,
                           sla_business_days=5)
        elif n % 4 in (1, 2):
            what = OpenItem(item_id=n, kind="condition" if n % 4 == 1 else "waiver", key=f"AI-{n}-C1",
                            initiative_id=n, initiative_key=f"AI-{n}", initiative_title=text, gate_name=text,
                            text=HOSTILE[:500], owner="U0DEV", due_on=due.date(), created_at=since)
        else:
            what = KpiUpdateDue(team_id="T1", initiative_id=n, key=f"AI-{n}", title=text, kpi_names=(text,) * 8,
                                due_on=due.date(), recipient="U0DEV")
        made.append(Waits(what, since=since, due=due if n % 4 != 3 else due.date(), overdue=due < NOW))
    return made


def mine(count: int) -> list[MyInitiative]:
    blockers = Blockers(sign_offs=tuple(w.what for w in waits(8) if isinstance(w.what, Pending)),
                        items=tuple(w.what for w in waits(40) if isinstance(w.what, OpenItem)),
                        blocking=frozenset({"AI-1-C1"}))
    return [MyInitiative(initiative(n, text=HOSTILE[:150]), blockers, held_until=NOW.date() if n % 2 else None)
            for n in range(count)]


def full_home(waiting: int = 60, owned: int = 250, stalled: int = 30) -> dict[str, Any]:
    portfolio = home.Portfolio(funnel={stage.name: 12 for stage in CATALOG.stages},
                               stalled=[initiative(n, text=HOSTILE[:150]) for n in range(stalled)])
    return home.home(waiting=waits(waiting), reader_zone=ZoneInfo("Asia/Kolkata"),
                     initiatives=mine(min(owned, home.INITIATIVES_SHOWN)), initiatives_total=owned, catalog=CATALOG,
                     portfolio=portfolio, now=NOW)


def test_the_desk_stays_within_100_blocks_and_ends_each_cut_list_with_see_all() -> None:
    view = full_home()
    assert validate_view(view, "home") == [] and len(view["blocks"]) <= 100
    see_all = [e["text"]["text"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
               if e["action_id"] == ids.DESK_MORE]
    assert see_all == ["See all 60", "See all 250", "See all 30"]
    for empty in (full_home(0, 0, 0), home.home(waiting=[], reader_zone=ZoneInfo("UTC"), initiatives=[],
                                                initiatives_total=0, catalog=CATALOG, now=NOW)):
        assert validate_view(empty, "home") == [] and "Nothing waits on you" in str(empty["blocks"])


def test_todo_and_the_see_all_pages_are_valid_at_any_size() -> None:
    reply = desk.todo_reply(waits(200), reader_zone=ZoneInfo("Asia/Kolkata"))
    assert_valid_message(reply)
    assert "…and 185 more" in reply.text and "Asia/Kolkata" in reply.text
    zone = ZoneInfo("UTC")
    for offset in (0, 20, 180):
        page = ids.DeskPage(ids.DESK_WAITING, offset)
        assert validate_view(desk.waiting_page(waits(200), page, reader_zone=zone), "modal") == []
    pages = [desk.initiatives_page(mine(20), ids.DeskPage(ids.DESK_INITIATIVES, 0), total=250, catalog=CATALOG),
             desk.stalled_page([initiative(n, text=HOSTILE[:150]) for n in range(500)],
                               ids.DeskPage(ids.DESK_STALLED, 40), catalog=CATALOG, now=NOW)]
    for view in pages:
        assert validate_view(view, "modal") == [] and len(view["blocks"]) <= 100


def test_replies_are_valid_at_any_size() -> None:
    many = [initiative(n, text=HOSTILE[:150]) for n in range(200)]
    listed = replies.initiative_list(many, total=200, scope_label="in progress", catalog=CATALOG)
    assert_valid_message(listed)
    assert "and 160 more" in listed.text
    assert_valid_message(replies.initiative_card(initiative(size=300), owners={"business": "U0MARIA"},
                                                 catalog=CATALOG, review=review(),
                                                 sign_offs=[sign_off(), sign_off("approved", "business", 2)],
                                                 deadlines={1: NOW + timedelta(days=7)}, reader_zone=None))
    events = [AuditEvent(id=n, team_id="T1", at=NOW, actor="U0MARIA", action="initiative.edited",
                         subject_type="initiative", subject_key="AI-1", after={"reason": HOSTILE})
              for n in range(300)]
    history = replies.history_reply(initiative(), events, CATALOG)
    assert_valid_message(history)
    assert "260 earlier changes" in str(history.blocks)
    assert_valid_message(replies.help_reply(SUBCOMMANDS.help_text()))
    assert_valid_message(replies.error_reply(HOSTILE, usage="/initiative show <KEY>"))


def test_search_results_are_valid_at_any_size_and_show_only_the_marked_words_in_bold() -> None:
    snippet = f"{HOSTILE[:200]}{MATCH_START}churn{MATCH_END} {HOSTILE * 3}"
    hits = [Hit(initiative(n, text=HOSTILE[:150]), {f"role{r}": f"U0P{r}" for r in range(8)}, snippet)
            for n in range(20)]
    found = search_results(hits, total=500, asked=HOSTILE, catalog=CATALOG)
    assert_valid_message(found)
    assert "and 480 more" in found.text and "&lt;!channel&gt;" in found.text and "<!channel>" not in found.text
    assert all("*churn*" in block["text"]["text"] for block in found.blocks[1:-1])

    none = search_results([], total=0, asked="<!channel> churn", catalog=CATALOG)
    assert_valid_message(none)
    assert none.text.startswith("No initiative you can see matches _&lt;!channel&gt; churn_.")
    assert "Every word must begin a word" in none.text


def test_ids_reject_what_the_bot_did_not_produce() -> None:
    assert ids.decode_sign_off_value(ids.sign_off_value(42)) == 42
    for forged in (None, "", "-1", "4 2", "١٢", "1" * 13):
        with pytest.raises(ids.StaleForm):
            ids.decode_sign_off_value(forged)
    for metadata in (None, "", "{", "[]", '{"sign_off_id": "x"}', '{"sign_off_id": true}', '{"sign_off_id": 0}'):
        with pytest.raises(ids.StaleForm):
            ids.decode_modal_context(metadata)


def test_checklist_answers_and_errors_map_to_their_inputs() -> None:
    waive = {ids.VALUE: {"type": "multi_static_select", "selected_options": [{"value": "c"}, {"value": "e"}]}}
    values = {
        "checklist.0": {ids.TICKED: {"type": "checkboxes", "selected_options": [{"value": "a"}]}},
        "checklist.1": {ids.TICKED: {"type": "checkboxes", "selected_options": [{"value": "b"}]}},
        ids.WAIVE_BLOCK: waive,
        ids.WAIVE_REASON_BLOCK: {ids.VALUE: {"type": "plain_text_input", "value": " not relevant "}},
        ids.EVIDENCE_BLOCK: {ids.VALUE: {"type": "plain_text_input", "value": "https://a\n\n https://b "}},
        ids.COMMENT_BLOCK: {ids.VALUE: {"type": "plain_text_input", "value": "ok\x00"}},
    }
    answers = forms.read_checklist(values)
    assert answers == forms.ChecklistAnswers(ticked=frozenset({"a", "b"}),
                                             waivers={"c": "not relevant", "e": "not relevant"},
                                             comment="ok", evidence_links=("https://a", "https://b"))
    assert forms.read_checklist({ids.WAIVE_REASON_BLOCK: values[ids.WAIVE_REASON_BLOCK]}).unused_reason
    assert forms.read_checklist({ids.WAIVE_BLOCK: waive}).waivers == {"c": "", "e": ""}  # the service refuses it

    view = {**modals.checklist(card(items=5)), "state": {"values": values}}
    [waivable] = [b for b in view["blocks"] if b.get("block_id") == ids.WAIVE_BLOCK]
    waivable["element"]["options"] = [{"text": {"type": "plain_text", "text": f"Item {v}"}, "value": v}
                                      for v in "abcde"]  # the labels the refusal names
    refused = ChecklistIncomplete({"c": "Give a reason for waiving this item.", "d": "Tick it", "f": "Tick it"})
    assert forms.checklist_errors(refused, view) == {
        ids.WAIVE_REASON_BLOCK: "Give a reason for waiving this item.",
        ids.WAIVE_BLOCK: "Tick “Item d”, “f” above, or choose them here with a reason below."}
    assert list(forms.checklist_errors(InvalidInput("'x' is not a web link", field="evidence_links"), view)) == [
        ids.EVIDENCE_BLOCK]
    assert list(forms.checklist_errors(InvalidInput("Too long", field="comment"), view)) == [ids.COMMENT_BLOCK]
    assert list(forms.checklist_errors(InvalidInput("Unknown item", field="ticked"), view)) == [ids.WAIVE_BLOCK]
    # The message's words decide nothing: an error about no particular input goes under the comment.
    assert list(forms.checklist_errors(InvalidInput("That comment link is bad"), view)) == [ids.COMMENT_BLOCK]


def test_new_initiative_errors_go_under_the_input_their_field_names_whatever_the_words() -> None:
    values = {block_id: {} for block_id in ("title", "tags", "kpi_name", "owner.data", "owner.business")}
    assert forms.new_initiative_errors(InvalidInput("Too long: see the title", field="tags"), values) == {
        "tags": "Too long: see the title"}
    assert forms.new_initiative_errors(InvalidInput("x", field="owners.business"), values) == {"owner.business": "x"}
    assert forms.new_initiative_errors(InvalidInput("x", field="owners"), values) == {"owner.data": "x"}
    assert forms.new_initiative_errors(InvalidInput("x", field="owners.chef"), values) == {"owner.data": "x"}
    assert forms.new_initiative_errors(InvalidInput("The KPI is wrong"), values) == {"title": "The KPI is wrong"}
    assert forms.new_initiative_errors(InvalidInput("x", field="problem"), values) == {"title": "x"}  # not shown


def test_gate_editor_errors_go_under_the_input_their_field_names() -> None:
    values = {gates.NAME: {}, gates.STALL: {}, gates.HOLIDAYS: {}}
    assert gates.input_errors(InvalidInput("x", field=gates.STALL), values) == {gates.STALL: "x"}
    assert gates.input_errors(InvalidInput("x", field=gates.HOLIDAYS), values) == {gates.HOLIDAYS: "x"}
    assert gates.input_errors(InvalidInput("The stage name is wrong"), values) == {}  # shown as a notice instead


def test_rich_text_reads_as_lines_with_real_mentions():
    value = {"type": "rich_text", "elements": [
        {"type": "rich_text_section", "elements": [
            {"type": "text", "text": "Pipeline in place "}, {"type": "user", "user_id": "UERIN"},
            {"type": "text", "text": " by 2027-03-15\nDPIA signed"}]},
        {"type": "rich_text_list", "style": "bullet", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "Load test"}]}]}]}
    assert forms.rich_text_lines(value) == ("Pipeline in place  <@UERIN>  by 2027-03-15", "DPIA signed", "Load test")
    assert parse_conditions(forms.rich_text_lines(value), today=date(2026, 12, 7))[0] == DraftCondition(
        "Pipeline in place", "UERIN", date(2027, 3, 15))
    assert forms.rich_text_lines(None) == ()
