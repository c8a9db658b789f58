"""Every `/initiative` subcommand over signed HTTP: what the caller sees privately, what reached the emulator,
and what the database holds."""

from __future__ import annotations

import html
import re
import threading
import time
from datetime import timedelta

from sqlmodel import select

from bot.app import COMMAND_THREADS
from bot.listeners.commands import SUBCOMMANDS
from bot.services.access.actors import Actor
from bot.services.access.visibility import Audience
from bot.services.initiatives import service as initiatives
from bot.services.reviews import service as lifecycle
from bot.views import ids
from bot.views.plain_text import Reader, render_blocks
from storage.models import GateReview, Initiative, OwnerAssignment, SignOff, StageTransition
from storage.types import utcnow
from tests.listeners.conftest import Slack
from tests.support.factories import kpi_texts

GRAMMAR = """\
/initiative help
/initiative new                      -> opens the New initiative modal
/initiative new <title> [business=@u] [data=@u] [eng=@u] [risk=low|medium|high]   -> creates at once
/initiative new <title> sponsor=@you confidential=yes   -> only its owners, their delegates and admins see it
/initiative list [<stage>|mine|all|stalled]
/initiative find <words> [@owner]   -> initiatives whose title, tags, owners or description match, best first
/initiative todo   -> everything waiting on you, oldest first: sign-offs, conditions, KPI actuals
/initiative show <KEY>
/initiative owners <KEY> [business=@u] [data=@u] [eng=@u] [compliance=@u] [sponsor=@u]
/initiative classify <KEY>   -> owners/admins: the EU AI Act screening questions; the result sets its risk tier
/initiative classify <KEY> override <low|medium|high> <reason>   -> its compliance owner: another risk tier
/initiative compliance <KEY>   -> its controls (EU AI Act, NIST AI RMF, ISO/IEC 42001): met, waived or open
/initiative submit <KEY>             -> opens the review of the next gate
/initiative approve <KEY> [comment]  -> opens the checklist modal for the caller's pending sign-off(s)
/initiative reject <KEY> <reason>    -> requests changes on the open review at once
/initiative pause|resume <KEY> [reason]   -> an owner's short stop; resume also ends a hold
/initiative hold <KEY> until YYYY-MM-DD <reason>   -> sponsor/admins: on hold; the sponsor is asked that day
/initiative recycle <KEY> to <stage> <what must be redone>   -> back to an earlier stage
/initiative kill <KEY> [rationale]   -> sponsor/admins: opens the Kill modal (rationale, what we learned)
/initiative retire <KEY> <reason>   -> admins: for merges and duplicates (to stop one, kill it)
/initiative history <KEY>"""

OWNERS = "business=<@UMARIA|maria> data=<@UDEV> eng=<@UERIN|erin>"


def test_help_shows_the_grammar_privately(slack: Slack) -> None:
    for text in ("help", "", "HELP"):
        answer = slack.command(text)
        assert answer["response_type"] == "ephemeral"
        assert html.unescape(answer["text"]).startswith(GRAMMAR)
        # Every command's usage, in order, however many sections Slack's 3,000 characters each take.
        shown = "\n".join(block["text"]["text"].strip("`") for block in answer["blocks"])
        assert html.unescape(shown) == SUBCOMMANDS.help_text()
        assert all(len(block["text"]["text"]) <= 3000 for block in answer["blocks"])
    assert SUBCOMMANDS.help_text().startswith(GRAMMAR)


def test_new_with_a_title_creates_at_once_with_owners_and_risk(slack: Slack, runtime) -> None:
    answer = slack.command(f"new Invoice matching &amp; triage {OWNERS} risk=high")
    assert answer["response_type"] == "ephemeral" and "AI-1" in answer["text"]
    with runtime.transaction() as session:
        initiative = session.exec(select(Initiative)).one()
        owners = {o.role: o.user_id for o in session.exec(select(OwnerAssignment))}
    assert initiative.title == "Invoice matching & triage"
    assert initiative.risk_tier == "high"
    assert owners == {"business": "UMARIA", "data": "UDEV", "engineering": "UERIN"}


def test_new_without_a_title_opens_the_modal_and_its_submission_creates(slack: Slack, runtime) -> None:
    assert slack.command("new", opens_modal=True, channel_id="C0001") == {}
    modal = slack.opened_modal()
    assert modal["callback_id"] == ids.NEW_INITIATIVE_MODAL
    block_ids = {b.get("block_id") for b in modal["blocks"]}
    assert {"title", "description", "problem", "kpi_name", "kpi_baseline", "kpi_target", "risk_tier",
            "owner.business", "owner.data", "owner.engineering", "channel_id", "tags", "business_unit"} <= block_ids
    owner_block = next(b for b in modal["blocks"] if b["block_id"] == "owner.data")
    assert owner_block["element"]["type"] == "users_select"

    def text(value: str) -> dict:
        return {ids.VALUE: {"type": "plain_text_input", "value": value}}

    values = {
        "title": text("Demand forecast"), "description": text("Weekly forecast"), "problem": text("Stock-outs"),
        "kpi_name": text("Stock-out rate"), "kpi_baseline": text("7%"), "kpi_target": text("4%"),
        "risk_tier": {ids.VALUE: {"type": "static_select", "selected_option": {"value": "low"}}},
        "owner.data": {ids.VALUE: {"type": "users_select", "selected_user": "UDEV"}},
        "channel_id": {ids.VALUE: {"type": "conversations_select", "selected_conversation": "C0001"}},
        "tags": text("supply, forecasting"), "business_unit": text("Supply chain"),
    }
    answer = slack.submit(modal, values, user="UMARIA")
    assert answer["response_action"] == "update" and "AI-1" in str(answer["view"]["blocks"])
    with runtime.transaction() as session:
        initiative = session.exec(select(Initiative)).one()
        [owner] = session.exec(select(OwnerAssignment)).all()
    assert (initiative.title, initiative.risk_tier, initiative.channel_id) == ("Demand forecast", "low", "C0001")
    assert kpi_texts(runtime, initiative) == {"kpi_name": "Stock-out rate", "kpi_baseline": "7%", "kpi_target": "4%"}
    assert initiative.tags == ["forecasting", "supply"] and initiative.business_unit == "Supply chain"
    assert (owner.role, owner.user_id) == ("data", "UDEV")


def test_list_by_default_by_stage_mine_and_all(slack: Slack) -> None:
    slack.command(f"new Alpha {OWNERS}")
    slack.command("new Beta", user="UOTTO")
    slack.command("new Gamma", user="UOTTO")
    slack.command("retire AI-3 merged into AI-2", user="UADMIN")
    assert "AI-1" in slack.command("list")["text"] and "AI-3" not in slack.command("list")["text"]
    assert "AI-3" in slack.command("list all")["text"]
    mine = slack.command("list mine", user="UDEV")["text"]
    assert "AI-1" in mine and "AI-2" not in mine
    assert "AI-2" in slack.command("list idea")["text"]
    assert "No initiatives" in slack.command("list pilot")["text"]


def test_list_stalled_shows_active_initiatives_past_their_stage_threshold(slack: Slack) -> None:
    for title in ("Alpha", "Beta", "Gamma"):
        slack.command(f"new {title}")
    with slack.runtime.transaction() as session:
        for number, days in ((1, 120), (2, 60), (3, 200)):
            everyone = Audience.workspace(team_id=slack.emulator.team_id)
            initiative = initiatives.get_initiative(session, audience=everyone, key=f"AI-{number}")
            lifecycle.move_stage(session, actor=Actor(slack.emulator.team_id, "UADMIN", is_admin=True),
                                 initiative=initiative, to_stage="pilot", reason="imported")
            initiative.stage_entered_at = utcnow() - timedelta(days=days)
            transition = session.get(StageTransition, initiative.current_transition_id)
            transition.at = initiative.stage_entered_at
    slack.command("pause AI-3", user="UADMIN")

    answer = slack.command("list stalled")["text"]

    assert "AI-1" in answer  # 120 days in Pilot, threshold 90
    assert "AI-2" not in answer  # 60 days
    assert "AI-3" not in answer  # paused initiatives are never stalled


def test_a_long_list_ends_with_and_n_more(slack: Slack) -> None:
    for number in range(45):
        slack.command(f"new Initiative {number}")
    answer = slack.command("list")
    assert "and 5 more" in answer["text"]
    assert len(answer["blocks"]) <= 50


def test_find_ranks_title_matches_first_and_shows_stage_owners_and_where_it_matched(slack: Slack) -> None:
    slack.emulator.add_user("UERIN", "erin", display_name="Erin Okafor")  # what users.info says when she is named
    slack.command("new Invoice OCR data=<@UDEV>")
    slack.command(f"new Churn model {OWNERS}")
    with slack.runtime.transaction() as session:
        invoices = initiatives.get_initiative(session, audience=Audience.admin(team_id=slack.emulator.team_id),
                                              key="AI-1")
        initiatives.edit_initiative(session, actor=Actor(slack.emulator.team_id, "UADMIN", is_admin=True),
                                    initiative=invoices, description="Suppliers churn & leave when invoices wait.")
    profile = {"display_name": "Maria Lopez", "real_name": "Maria Lopez"}
    changed = {"type": "user_change", "user": {"id": "UMARIA", "team_id": slack.emulator.team_id, "tz": "UTC",
                                               "profile": profile}}
    assert slack.app.event(changed).status_code == 200

    answer = slack.command("find churn")

    assert answer["response_type"] == "ephemeral"
    assert [re.findall(r"AI-\d+", block["text"]["text"]) for block in answer["blocks"][1:]] == [["AI-2"], ["AI-1"]]
    assert "(2)" in answer["blocks"][0]["text"]["text"]
    ocr = answer["blocks"][2]["text"]["text"]
    assert "Idea" in ocr and "Data owner <@UDEV>" in ocr
    assert "> Suppliers *churn* &amp; leave" in ocr  # the match in bold; the description's own text escaped
    assert "AI-2" in answer["text"] and "AI-1" in answer["text"]  # the plain-text fallback lists them too
    assert re.findall(r"AI-\d+", slack.command("find okafor")["text"]) == ["AI-2"]  # named by users.info
    deadline = time.monotonic() + 5  # the user_change event is handled after its ack
    while "AI-2" not in slack.command("find lopez")["text"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "AI-2" in slack.command("find LOPEZ")["text"]
    by_mention = slack.command("find <@UDEV|dev>")["text"]
    assert "AI-1" in by_mention and "AI-2" in by_mention
    assert "AI-2" not in slack.command("find invoice <@UDEV|dev>")["text"]


def test_find_follows_a_rename_and_never_fails_on_search_syntax(slack: Slack) -> None:
    slack.command("new Churn model")
    with slack.runtime.transaction() as session:
        churn = initiatives.get_initiative(session, audience=Audience.admin(team_id=slack.emulator.team_id),
                                           key="AI-1")
        initiatives.edit_initiative(session, actor=Actor(slack.emulator.team_id, "UADMIN", is_admin=True),
                                    initiative=churn, title="Retention uplift")
    assert "AI-1" in slack.command("find retention")["text"]

    for typed in ("churn", '"unbalanced', "NEAR(a b) OR -x*", "title: AND", "'; DROP TABLE initiative; --"):
        answer = slack.command(f"find {typed}")
        assert answer["text"].startswith("No initiative you can see matches"), typed
        assert "Every word must begin a word" in answer["text"]

    usage = slack.command("find")["text"]
    assert "Say what to look for" in usage and "/initiative find &lt;words&gt;" in usage
    assert "Say what to look for" in slack.command('find "*" -')["text"]


def test_show_answers_privately_and_share_posts_it_to_the_channel(slack: Slack) -> None:
    slack.command(f"new Alpha {OWNERS}")
    slack.command("submit AI-1")
    answer = slack.command("show ai-1")
    assert answer["response_type"] == "ephemeral"
    body = str(answer["blocks"])
    assert "Alpha" in body and "<@UMARIA>" in body and "pending" in body and "<!date^" in body
    share = next(e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert share["action_id"] == ids.SHARE_TO_CHANNEL and share["text"]["text"] == "Share to channel"
    _, response_url = slack.click(ids.SHARE_TO_CHANNEL, share["value"], user="UDEV", channel="C0001")
    shared = slack.answer_at(response_url)
    assert shared["response_type"] == "in_channel"
    assert "Shared by <@UDEV>" in str(shared["blocks"]) and ids.SHARE_TO_CHANNEL not in str(shared["blocks"])


def test_owners_assigns_and_reassigns(slack: Slack, runtime) -> None:
    slack.command("new Alpha")
    answer = slack.command("owners AI-1 business=<@UMARIA|maria> compliance=<@UCARL> sponsor=<@UOTTO|otto>")
    assert "updated" in answer["text"] and "<@UCARL>" in answer["text"]
    slack.command("owners AI-1 business=<@UDEV>")
    with runtime.transaction() as session:
        owners = {o.role: o.user_id for o in session.exec(select(OwnerAssignment))}
    assert owners == {"business": "UDEV", "compliance": "UCARL", "sponsor": "UOTTO"}


def test_submit_opens_the_review_and_a_reassigned_owner_gets_the_dm(slack: Slack, runtime) -> None:
    slack.command(f"new Alpha {OWNERS}")
    answer = slack.command("submit AI-1")
    assert "<@UDEV>" in answer["text"]
    slack.command("owners AI-1 data=<@UCARL|carl>")
    slack.deliver()
    old = [m for m in slack.dms_to("UDEV") if "moved to <@UCARL>" in str(m["blocks"])]
    assert old and not [b for b in old[0]["blocks"] if b["type"] == "actions"]
    assert [m for m in slack.dms_to("UCARL") if "Sign-off requested" in m["text"]]
    with runtime.transaction() as session:
        assert session.exec(select(GateReview)).one().state == "open"


def test_approve_opens_the_checklist_with_the_comment_prefilled(slack: Slack) -> None:
    slack.command(f"new Alpha {OWNERS}")
    slack.command("submit AI-1")
    assert slack.command("approve AI-1 Looks solid &amp; measured", user="UDEV", opens_modal=True) == {}
    modal = slack.opened_modal()
    comment = next(b for b in modal["blocks"] if b.get("block_id") == ids.COMMENT_BLOCK)
    assert comment["element"]["initial_value"] == "Looks solid & measured"
    assert "Data owner" in str(modal["blocks"])


def test_commands_that_open_a_modal_do_not_wait_behind_a_burst_of_other_commands(slack: Slack) -> None:
    slack.command(f"new Alpha {OWNERS}")
    slack.command("submit AI-1")
    release = threading.Event()
    for _ in range(COMMAND_THREADS):  # every command thread busy, as in a burst of slow commands
        slack.app.app.command_executor.submit(release.wait, 30)
    try:
        queued_url = slack.emulator.new_response_url()
        assert slack.app.command("list", user_id="UMARIA", response_url=queued_url).status_code == 200
        # The trigger_id expires 3 s after the command: approve and new open their modals at once.
        assert slack.command("approve AI-1", user="UDEV", opens_modal=True) == {}
        assert slack.command("new", opens_modal=True) == {}
        assert [c.ok for c in slack.emulator.calls_to("views.open")] == [True, True]
        assert slack.emulator.responses(queued_url) == []  # `list` waits its turn...
    finally:
        release.set()
    assert "Alpha" in slack.emulator.wait_for_responses(queued_url)[0]["text"]  # ...and is answered


def test_a_commands_work_lets_requests_still_waiting_for_their_ack_go_first_but_not_for_ever(slack: Slack) -> None:
    acks_first = slack.app.app.acknowledgements_first
    acks_first.max_hold = 30
    held_url = slack.emulator.new_response_url()
    with acks_first.request():  # another request, not acknowledged yet
        assert slack.app.command("list", user_id="UMARIA", response_url=held_url).status_code == 200
        time.sleep(0.5)
        assert slack.emulator.responses(held_url) == []  # the work waits...
    assert "No initiatives" in slack.emulator.wait_for_responses(held_url)[0]["text"]  # ...until that ack is out

    acks_first.max_hold = 0.2
    stuck_url = slack.emulator.new_response_url()
    with acks_first.request():  # a request that never gets its ack
        assert slack.app.command("list", user_id="UMARIA", response_url=stuck_url).status_code == 200
        assert "No initiatives" in slack.emulator.wait_for_responses(stuck_url)[0]["text"]  # answered all the same


def test_reject_requests_changes_at_once_and_tells_the_owners(slack: Slack, runtime) -> None:
    slack.command(f"new Alpha {OWNERS}")
    slack.command("submit AI-1")
    answer = slack.command("reject AI-1 Baseline is not measured yet", user="UERIN")
    assert "Changes requested" in answer["text"]
    slack.deliver()
    with runtime.transaction() as session:
        assert session.exec(select(GateReview)).one().state == "changes_requested"
        states = {s.role: s.state for s in session.exec(select(SignOff))}
    assert states == {"engineering": "changes_requested", "business": "cancelled", "data": "cancelled"}
    maria_request = next(m for m in slack.dms_to("UMARIA") if m["blocks"][0]["type"] == "header")
    assert "No longer needed" in str(maria_request["blocks"])
    assert [m for m in slack.dms_to("UMARIA") if "requested changes on" in m["text"]]


def test_pause_resume_retire_and_history(slack: Slack, runtime) -> None:
    slack.command(f"new Alpha {OWNERS}")
    assert "paused" in slack.command("pause AI-1 waiting for budget")["text"]
    assert "active again" in slack.command("resume AI-1")["text"]
    assert "retired" in slack.command("retire AI-1 merged into AI-7", user="UADMIN")["text"]
    with runtime.transaction() as session:
        initiative = session.exec(select(Initiative)).one()
    assert (initiative.status, initiative.retired_reason) == ("retired", "merged into AI-7")
    history = slack.command("history AI-1")
    read = render_blocks(history["blocks"], Reader(people={"UMARIA": "Maria", "UADMIN": "Ada"}))
    sentences = [line.split(" on ")[0] for line in read.splitlines()[1:5]]
    assert sentences == ["@Maria recorded AI-1 in Idea", "@Maria paused AI-1", "@Maria resumed AI-1",
                         "@Ada retired AI-1"]
    assert re.search(r" on [A-Z][a-z]{2} \d{1,2}, \d{4} at \d\d:\d\d UTC: “waiting for budget”\.", read), read
    assert "initiative.paused" not in read


def test_the_new_initiative_modal_shows_a_refused_field_under_that_field(slack: Slack, runtime) -> None:
    slack.command("new", opens_modal=True)
    modal = slack.opened_modal()
    values = {"title": {ids.VALUE: {"type": "plain_text_input", "value": "   "}},
              "risk_tier": {ids.VALUE: {"type": "static_select", "selected_option": {"value": "medium"}}}}
    answer = slack.submit(modal, values, user="UMARIA")
    assert answer == {"response_action": "errors", "errors": {"title": "A title is required."}}
    with runtime.transaction() as session:
        assert session.exec(select(Initiative)).first() is None


def test_a_slow_command_is_acknowledged_first_and_answered_by_response_url(slack: Slack, runtime) -> None:
    """While another transaction holds the initiative, the command cannot finish within Slack's 3 seconds: it is
    acknowledged with an empty body, then answered through the response_url once the lock is released."""
    slack.command(f"new Alpha {OWNERS}")
    locked, release = threading.Event(), threading.Event()

    def hold_the_initiative() -> None:
        with runtime.transaction() as session:
            session.exec(select(Initiative).with_for_update()).one()  # on SQLite, BEGIN IMMEDIATE locks it all
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_initiative)
    holder.start()
    locked.wait(5)
    response_url = slack.emulator.new_response_url()
    try:
        response = slack.app.command("pause AI-1", user_id="UMARIA", response_url=response_url)
        assert (response.status_code, response.content) == (200, b"")
        # Held past Slack's 3 seconds, and past the 2 s a modal's submission may wait (bot.app.SLACK_LOCK_WAIT):
        # an answer by response_url is on no such clock, so the command waits on.
        time.sleep(3)
        assert slack.emulator.responses(response_url) == []
    finally:
        release.set()
        holder.join()
    assert "*AI-1* is paused" in slack.answer_at(response_url)["text"]
