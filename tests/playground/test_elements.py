"""The page renders every Block Kit block, element, text object and rich-text part that the bot's view builders
emit. Every public function of every bot/views module is either called here with realistic data (every optional
part on) or listed as one that builds no blocks; every `type` in the JSON the builders return is collected, and
the page's renderer tables in app.js must hold each one. A builder that starts emitting a type the page cannot
draw fails here, and so does a new builder nobody walks; no browser is needed."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import timedelta
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, BlockElement, ButtonElement

import bot.views
from bot.commands.registry import Reply
from bot.listeners.commands import SUBCOMMANDS
from bot.services.attestation.service import AT_RISK, STALE_MODEL
from bot.services.digest.report import (
    ConditionCounts,
    Conversion,
    DeliveryFailure,
    DigestReport,
    ExpiredWaiver,
    FlaggedItem,
    FunnelRow,
    HoldDue,
    Median,
    Movement,
    PastTarget,
    StalledItem,
    Trend,
    WaitingItem,
)
from bot.services.initiatives.search import MATCH_END, MATCH_START, Hit
from bot.services.kpis.actuals import NO_DATA, OFF_TRACK, ON_TRACK, Standing
from bot.services.kpis.scheduled import KpiUpdateDue
from bot.services.kpis.value import ValueRow, ValueTotal
from bot.services.nudges.policy import ESCALATION, NUDGE, Item, ItemLine, Notice
from bot.services.outcomes.scheduled import RevisitDue
from bot.services.regulation.compliance import Cell
from bot.services.regulation.questionnaire import Questionnaire, shipped_document
from bot.services.reviews.decision_record import (
    ChecklistLine,
    ClassificationRecord,
    ConditionRecord,
    DecisionRecord,
    GateRecord,
    OutcomeRecord,
    Signature,
)
from bot.services.reviews.service import REATTESTATION, DecisionDates
from bot.services.waiting.service import OpenItem, Pending
from bot.services.waivers.scheduled import ExpiryWarning, WaiverShown
from bot.services.webhooks.evidence import BrokenLink
from bot.views import (
    attestation,
    blocks,
    conditions,
    decision_record,
    desk,
    digest,
    gates,
    home,
    ids,
    kpis,
    messages,
    modals,
    nudges,
    outcomes,
    people,
    portfolio_io,
    regulation,
    replies,
    search,
    waivers,
)
from bot.views.blocks import Message
from storage.models import (
    AuditEvent,
    InitiativeClassification,
    InitiativeFlag,
    InitiativeOutcome,
    Kpi,
    KpiActual,
    TrackedItem,
)
from tests.views.test_regulation_views import report as compliance_report
from tests.views.test_views import CATALOG, HOSTILE, NOW, card, full_home, initiative, mine, review, sign_off, waits

# A context block's elements are images or text objects (app.js draws them so); what is inside a rich_text block
# is drawn by the page's RICH_TEXT table, the rest by its BLOCKS, ELEMENTS and TEXT_OBJECTS tables.
CONTEXT_ELEMENTS = {"image"}
ZONE = ZoneInfo("Europe/Berlin")
TODAY = NOW.date()

# Public functions of bot/views that build no blocks: text for replies and fallbacks, ids, readers of what a
# modal sent, text renderers. Each is checked below to say so in its return annotation.
NOT_BLOCKS = {
    "admins.admins_text", "attestation.after_go_live_lines", "blocks.more_line",
    "conditions.condition_line", "conditions.met_text", "conditions.cancelled_text", "conditions.waived_again_text",
    "conditions.reassigned_text",
    "desk.waiting_text", "desk.stalled_line", "desk.funnel_line",
    "digest.title_of", "digest.fallback_text", "digest.not_posted_notice", "digest.preview_text",
    "digest_admin.digests_text", "digest_admin.digest_line", "digest_admin.next_post_text", "digest_admin.saved_text",
    "forms.read_checklist", "forms.rich_text_lines", "forms.checklist_errors", "forms.read_new_initiative",
    "forms.new_initiative_errors", "forms.read_reason", "forms.read_kill", "forms.read_revisit_date",
    "forms.outcome_errors", "forms.read_classification", "forms.classification_errors", "forms.read_kpi",
    "gates.encode", "gates.decode", "gates.overview_text", "gates.read_stage", "gates.read_checklists",
    "gates.read_new_stage", "gates.read_move_to", "gates.read_holidays", "gates.input_errors", "gates.errors_for",
    "history.event_sentence",
    "ids.sign_off_value", "ids.decode_sign_off_value", "ids.encode_modal_context", "ids.decode_modal_context",
    "ids.initiative_key_value", "ids.decode_initiative_key", "ids.encode_initiative_context",
    "ids.decode_initiative_context", "ids.checklist_block_id", "ids.owner_block_id", "ids.encode_classify_context",
    "ids.decode_classify_context", "ids.question_block_id", "ids.encode_role", "ids.decode_role",
    "ids.encode_item_owner", "ids.decode_item_owner", "ids.desk_page_value", "ids.decode_desk_page",
    "kpis.kpi_name", "kpis.definition", "kpis.day", "kpis.standing_line", "kpis.recorded_text",
    "messages.outcome_line", "messages.outcome_text", "messages.already_decided", "messages.evidence_lines",
    "nudges.snoozed_text", "nudges.delegation_text",
    "outcomes.day", "outcomes.held_reply", "outcomes.recycled_reply", "outcomes.killed_text", "outcomes.resumed_text",
    "outcomes.extended_text",
    "plain_text.mentioned", "plain_text.render_message", "plain_text.render_blocks", "plain_text.render_mrkdwn",
    "plain_text.format_date",
    "regulation.tier_name", "regulation.classified_text", "regulation.rationale_lines", "regulation.card_line",
    "regulation.overridden_text",
    "replies.initiative_line", "replies.stage_name",
    "text.escape", "text.escape_keeping_mentions", "text.clip", "text.mrkdwn", "text.mention", "text.channel_link",
    "text.plain_date", "text.slack_date",
    "webhooks.registered_text", "webhooks.endpoint_lines", "webhooks.endpoint_line", "webhooks.events_of",
    "webhooks.removed_text",
}
# What a function returning blocks (or a message, reply, view or element) says in its return annotation.
BLOCKS_ANNOTATION = re.compile(r"(Block|Message|Reply|View|Element)\b|dict\[str, Any\]")


def builders() -> dict[str, Callable[..., Any]]:
    """Every public function defined in a bot/views module, by `module.name`."""
    found = {}
    for info in pkgutil.iter_modules(bot.views.__path__):
        module = importlib.import_module(f"bot.views.{info.name}")
        for name, value in vars(module).items():
            if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_"):
                found[f"{info.name}.{name}"] = value
    return found


def qualified(builder: Callable[..., Any]) -> str:
    return f"{builder.__module__.removeprefix('bot.views.')}.{builder.__name__}"


Built = tuple[Callable[..., Any], str, list[dict[str, Any]]]


def built(builder: Callable[..., Any], what: str, /, *args: Any, **kwargs: Any) -> Built:
    """`builder` called, and the blocks of what it returned as Slack receives them."""
    return builder, what, as_blocks(builder(*args, **kwargs))


def as_blocks(output: Any) -> list[dict[str, Any]]:
    if isinstance(output, Message | Reply):
        return [_dict(block) for block in output.blocks]
    if isinstance(output, Mapping):  # a view, or a message payload
        return list(output["blocks"])
    if isinstance(output, tuple):  # (fallback text, blocks)
        return as_blocks(output[1])
    if isinstance(output, list):
        return [_dict(block) for block in output]
    if isinstance(output, Block):
        return [output.to_dict()]
    if isinstance(output, BlockElement):  # shown in an actions block (regulation.classify_button)
        return [{"type": "actions", "elements": [output.to_dict()]}]
    raise TypeError(f"the walk cannot read a {type(output).__name__}")


def _dict(block: Block | dict[str, Any]) -> dict[str, Any]:
    return block.to_dict() if isinstance(block, Block) else block


def digest_report() -> DigestReport:
    """A digest with every list in it, long enough to go on in its thread."""
    many = range(25)
    moved = tuple(Movement(f"AI-{n}", HOSTILE[:60], NOW, "Idea → Pilot through Pilot approval") for n in many)
    return DigestReport(
        name="default", scope="all initiatives", as_of=NOW, window_start=NOW - timedelta(days=7), week="2026-W48",
        timezone="Europe/Berlin",
        funnel=tuple(FunnelRow(s.id, s.name, 3, 2, 1, held=1, recycled=1) for s in CATALOG.stages),
        new=moved, advanced=moved, sent_back=moved, paused=moved, retired=moved, recycled=moved, held=moved,
        killed=moved, imported=moved,
        stalled=tuple(StalledItem(f"AI-{n}", "Churn", "Pilot", 40, 30) for n in many),
        waiting=tuple(WaitingItem(f"AI-{n}", "Churn", "Pilot approval", "Data owner", "U0DEV", NOW, 6,
                                  NOW + timedelta(days=1), overdue=n % 2 == 0) for n in many),
        delivery_failures=(DeliveryFailure("chat.postMessage", "C0PORT", "not_in_channel", NOW),
                           DeliveryFailure("chat.postMessage", "U0DEV", "user_not_found", NOW)),
        broken_links=(BrokenLink("https://wiki.example.com/x", "404", NOW, ("AI-1", "AI-2")),),
        conversion=Conversion(cohort=5, converted=2),
        median_days_in_stage={"Idea": Median(12.5, 4), "Pilot": Median(None, 0)},
        median_turnaround_by_role={"Data owner": Median(2.5, 3)},
        trend=Trend(points=(NOW,), series={"Idea": (3,)}),
        holds_due=(HoldDue("AI-3", "Claims", "Pilot", TODAY, "budget"),),
        unclassified=tuple((f"AI-{n}", "Claims") for n in range(8)),
        flagged=(FlaggedItem("AI-4", "Claims", "Production", "At risk", "not confirmed", NOW),),
        past_target=(PastTarget("AI-5", "Claims", "Pilot", TODAY),),
        expired_waivers=(ExpiredWaiver("AI-6-W1", "AI-6", "Claims", "Bias test", "U0DEV", TODAY),),
        conditions=ConditionCounts(open=3, overdue=1, met=2),
        value=tuple(ValueRow("AI-7", "Claims", "Production", "Churn", "%", "lower", status, 3.9, TODAY, 4.2, 3.5, 0.3)
                    for status in (ON_TRACK, OFF_TRACK, NO_DATA)),
        value_totals=(ValueTotal("EUR", 12_300, 2),),
        confidential_moved={"advanced": 2},
    )


def notice(kind: str) -> Notice:
    """A nudge or escalation with sign-offs (one overdue, one delegated), conditions and KPI requests."""
    pending = [Pending(n, f"AI-{n}", HOSTILE[:80], "Pilot approval", "data", "Data owner", "U0DEV", NOW, 5)
               for n in range(1, 16)]
    items = tuple(Item(p, business_days=p.sign_off_id, deadline=NOW, overdue=p.sign_off_id % 2 == 0, due=True,
                       on_behalf_of="U0MARIA" if p.sign_off_id == 3 else None) for p in pending)
    lines = tuple(ItemLine(i, deadline=NOW, overdue=i.item_id == 1, due=i.item_id == 2, reminding_age=True,
                           on_behalf_of="U0MARIA" if i.item_id == 3 else None) for i in open_items())
    return Notice(kind, "U0DEV", TODAY, items, "due", ZONE, lines=lines, kpis=kpi_requests())


def open_items() -> list[OpenItem]:
    return [OpenItem(n, "condition", f"AI-9-C{n}", 9, "AI-9", "Claims", "Pilot approval", f"Condition {n}", "U0DEV",
                     TODAY, NOW) for n in range(1, 12)]


def kpi_requests() -> tuple[KpiUpdateDue, ...]:
    return tuple(KpiUpdateDue("T1", n, f"AI-{n}", "Claims", ("Churn", "Savings"), TODAY, "U0MARIA") for n in range(7))


def tracked_item(state: str = "open") -> TrackedItem:
    return TrackedItem(id=1, team_id="T1", initiative_id=1, kind="condition", number=1, gate_slug="idea-to-pilot",
                       stage="pilot", text=HOSTILE[:200], owner="U0DEV", due_on=TODAY, state=state,
                       created_by="U0MARIA", created_at=NOW, closed_by="U0MARIA" if state != "open" else None,
                       evidence="https://wiki.example.com/done", close_reason="not needed")


def condition_views() -> list[conditions.ConditionView]:
    return [conditions.ConditionView(f"AI-1-C{n}", initiative(), tracked_item(state), NOW, overdue=n == 0)
            for n, state in enumerate(("open", "open", "met", "cancelled") * 4)]


def outcome(kind: str = "held") -> InitiativeOutcome:
    return InitiativeOutcome(id=1, team_id="T1", initiative_id=1, kind=kind, stage="pilot", to_stage="idea",
                             reason=HOSTILE[:300], lessons="data was thin", revisit_on=TODAY, decided_by="U0MARIA",
                             decided_at=NOW)


def classification(derived: str = "high", kind: str = "override") -> InitiativeClassification:
    return InitiativeClassification(
        id=1, team_id="T1", initiative_id=1, kind=kind, questionnaire_version=1, derived_tier=derived,
        risk_tier="high", reason="counsel agreed", decided_by="U0COMP", decided_at=NOW,
        rationale=[{"rule": "annex-iii", "cites": "Art. 6"},
                   {"text": "Screens job applicants?", "answer": "yes", "cites": "Annex III 4"}])


KPI_NAMES = (("Churn", "%"), ("Cost", ""))


def standings() -> list[Standing]:
    churn, savings = (Kpi(id=n, team_id="T1", initiative_id=1, position=n, name=name, unit=unit, baseline=4.2,
                          target=3.0, target_date=TODAY) for n, (name, unit) in enumerate(KPI_NAMES))
    actuals = tuple(KpiActual(id=n, team_id="T1", kpi_id=0, value=4.0 - n / 10, measured_on=TODAY, recorded_by="U0DEV")
                    for n in range(3))
    return [Standing(churn, actuals, OFF_TRACK), Standing(savings, (), NO_DATA)]


def decision_record_of() -> DecisionRecord:
    signature = Signature("data", "Data owner", "U0DEV", "Dev", "approved", "U0DEV", "Dev", "2026-11-27", HOSTILE,
                          [ChecklistLine("a", "Bias test", "ticked"), ChecklistLine("b", "DPIA", "waived", "n/a")],
                          ["https://wiki.example.com/dpia"])
    gate = GateRecord("idea-to-pilot", "Pilot approval", "Idea", "Pilot", "passed", 1, "U0MARIA", "Maria",
                      "2026-11-20", "2026-11-27", "passed", [signature, replace(signature, decided_by=None)])
    return DecisionRecord(
        key="AI-1", title=HOSTILE[:100], risk_tier="high", status="active", current_stage="Pilot",
        current_definition_version=1, gates=[gate, replace(gate, closed_at=None)], stage_history=[],
        chain_verifies=True, chain_summary="12 events, chain intact",
        outcomes=[OutcomeRecord("held", "2026-11-21", "U0MARIA", "Maria", "pilot", None, "budget", "", "2026-12-21",
                                None)],
        classifications=[ClassificationRecord("questionnaire", "2026-11-20", "U0COMP", "Chloe", "high", "high", 1,
                                              ["annex-iii (Art. 6)"], "")],
        conditions=[ConditionRecord("AI-1-C1", "idea-to-pilot", "Retrain", "U0DEV", "Dev", "2027-01-10", "open",
                                    None, None, None, "", [], "")],
    )


def built_views() -> Iterator[Built]:
    """Each view, message and reply the bot builds, with realistic data and every optional part on."""
    full = card(items=12, links=3)
    dated = replace(full, dates=DecisionDates(TODAY, TODAY + timedelta(days=30), TODAY + timedelta(days=60), "Go"),
                    broken_links={"https://example.com/0?a=1&b=2": "404"}, kpi=standings()[0].kpi,
                    automatic_results={"item-0": ("failed", "AUC 0.61"), "item-1": ("passed", "v12")})
    reattestation_review = review()
    reattestation_review.kind = REATTESTATION
    reattestation = replace(full, review=reattestation_review)

    # blocks: the small builders everything else is made of
    yield built(blocks.header, "header", "Title")
    yield built(blocks.section, "section", "*text*", block_id="b", accessory=ButtonElement(text="Go", action_id="x"))
    yield built(blocks.fields, "fields", [("Stage", "Idea"), ("Risk", "high")])
    yield built(blocks.context, "context", "small print")
    yield built(blocks.divider, "divider")
    yield built(blocks.finish, "finished blocks", [blocks.header("Title"), blocks.divider()], "message")

    # modals
    for card_ in (full, dated, reattestation):
        for with_conditions in (False, True):
            yield built(modals.checklist, "checklist modal", card_, comment="ok", with_conditions=with_conditions)
    yield built(modals.new_initiative, "new initiative modal", CATALOG, risk_tiers=("low", "medium", "high"),
                channel_id="C1")
    yield built(modals.request_changes, "request changes modal", full)
    yield built(modals.notice, "notice modal", HOSTILE, buttons=[ButtonElement(text="Open", action_id="x", value="1")])
    yield built(modals.initiative_card, "initiative modal", initiative(), owners={"business": "U0MARIA"},
                catalog=CATALOG, review=review(), sign_offs=[sign_off()], deadlines={1: NOW + timedelta(days=7)},
                reader_zone=ZONE)
    yield built(outcomes.kill_modal, "kill modal", initiative(), rationale="no value")
    yield built(outcomes.extend_hold_modal, "extend hold modal", initiative(), revisit_on=TODAY)
    questionnaire = Questionnaire.from_document(shipped_document(), version=1)
    yield built(regulation.classify_modal, "classify modal", initiative(), questionnaire)
    yield built(kpis.record_modal, "KPI modal", initiative(), [s.kpi for s in standings()], today=TODAY)
    yield built(people.reassign_modal, "reassign modal", initiative(), role="data", role_name="Data owner")
    yield built(people.condition_reassign_modal, "condition reassign modal", "AI-1-C1", initiative(), tracked_item())
    yield built(decision_record.building, "decision record building", "AI-1")
    yield built(decision_record.decision_record_modal, "decision record", decision_record_of())
    stage = CATALOG.stages[0].id
    yield built(gates.stage_modal, "gate stage modal", CATALOG, stage)
    yield built(gates.checklists_modal, "gate checklists modal", CATALOG, stage)
    yield built(gates.add_stage_modal, "add stage modal", CATALOG)
    yield built(gates.remove_stage_modal, "remove stage modal", CATALOG, stage)
    yield built(gates.holidays_modal, "holidays modal", CATALOG)

    # App Home: the desk, its See all pages, and /initiative todo
    yield home.home, "app home", full_home()["blocks"]
    yield built(home.home, "empty app home", waiting=[], reader_zone=ZONE, initiatives=[], initiatives_total=0,
                catalog=CATALOG, now=NOW)
    yield built(desk.waiting_blocks, "waiting on me", waits(20), reader_zone=ZONE)
    yield built(desk.entry_blocks, "one thing waiting", waits(1)[0], ZONE)
    yield built(desk.todo_reply, "todo", waits(20), reader_zone=ZONE)
    yield built(desk.my_initiative_block, "my initiative", mine(1)[0], CATALOG)
    yield built(desk.see_all, "see all", ids.DESK_WAITING, 40)
    yield built(desk.page_modal, "a page", ids.DeskPage(ids.DESK_WAITING, 20), total=60,
                page_blocks=[blocks.section("one")], size=20)
    yield built(desk.waiting_page, "waiting page", waits(60), ids.DeskPage(ids.DESK_WAITING, 20), reader_zone=ZONE)
    yield built(desk.initiatives_page, "initiatives page", mine(20), ids.DeskPage(ids.DESK_INITIATIVES, 20),
                total=60, catalog=CATALOG)
    yield built(desk.stalled_page, "stalled page", [initiative(n) for n in range(30)],
                ids.DeskPage(ids.DESK_STALLED, 0), catalog=CATALOG, now=NOW)

    # DMs and channel messages
    yield built(messages.sign_off_request, "sign-off request", dated)
    yield built(messages.sign_off_request, "re-attestation request", reattestation)
    for state in ("approved", "changes_requested", "cancelled"):
        yield built(messages.sign_off_decided, f"sign-off {state}", card(state=state))
    yield built(messages.sign_off_decided, "sign-off moved", full, moved_to="U0CARL")
    for decision in ("approved", "changes_requested"):
        yield built(messages.decision_news, "decision news", initiative(), decider="U0DEV", role_name="Data",
                    decision=decision, gate_name="Pilot", settled=1, required=3, comment="fine")
    yield built(messages.gate_passed, "gate passed", initiative(), gate_name="Pilot approval", to_stage_name="Pilot",
                approvers=["U0A", "U0B"])
    yield built(people.reassign_needed, "reassign needed", initiative(), role="data", role_name="Data owner",
                gate_name="Pilot", deactivated="U0DEV")
    yield built(people.kpi_reassign_needed, "KPI reassign needed", initiative(), role="business",
                role_name="Business owner", kpi_names=("Churn", HOSTILE), deactivated="U0DEV")
    yield built(people.condition_reassign_needed, "condition reassign needed", "AI-1-C1", initiative(), tracked_item(),
                deactivated="U0DEV")
    for kind in (AT_RISK, STALE_MODEL):
        flag = InitiativeFlag(id=1, team_id="T1", initiative_id=1, kind=kind, detail=HOSTILE, raised_by="U0BOT",
                              raised_at=NOW)
        yield built(attestation.flag_news, "flag news", initiative(), flag, stage_name="Production")
    for what in ("created", "reassigned", "met", "cancelled"):
        yield built(conditions.condition_news, f"condition {what}", "AI-1-C1", initiative(), tracked_item(),
                    what=what, actor="U0MARIA")
    warning = ExpiryWarning("U0DEV", tuple(WaiverShown(f"AI-{n}", "Claims", "Pilot approval", "DPIA", "pilot only",
                                                       TODAY) for n in range(25)))
    yield built(waivers.expiry_warning, "waiver expiry warning", warning)
    yield built(waivers.expired_waiver_news, "expired waiver news", "AI-1-W1", initiative(), tracked_item())
    for what in ("held", "hold_extended", "recycled", "killed"):
        yield built(outcomes.outcome_news, f"{what} news", initiative(), outcome(), what=what, actor="U0MARIA",
                    stage_name="Pilot", to_stage_name="Idea")
    yield built(outcomes.revisit_prompt, "revisit prompt",
                RevisitDue("AI-1", "Claims", "Pilot", "budget", "U0MARIA", TODAY, TODAY, "U0SPONSOR"))
    for decision in ("extended", "active", "killed"):
        yield built(outcomes.revisit_decided, f"revisit {decision}", initiative(), decision, by="U0MARIA",
                    revisit_on=TODAY)
    yield built(regulation.prohibited_alert, "prohibited alert", initiative(), classification("prohibited"))
    for kind in (NUDGE, ESCALATION):
        yield built(nudges.nudge_message, f"{kind} DM", notice(kind))
        yield built(nudges.escalation_message, f"{kind} escalation DM", notice(kind))
    nudge = nudges.nudge_message(notice(NUDGE)).payload()
    yield built(nudges.without_sign_offs, "nudge once decided", nudge, {1, 2}, NUDGE, {1})
    yield built(nudges.without_sign_offs, "nudge of conditions only", nudge, set(range(1, 16)), NUDGE)
    yield built(kpis.kpi_request_blocks, "KPI requests", kpi_requests(), shown=5, block_id_prefix="kpi.")
    yield built(kpis.standings_section, "KPI standings", standings())

    # the digest
    report = digest_report()
    for number, message in enumerate(digest.digest_messages(report)):  # the channel message, then its thread
        yield digest.digest_messages, f"digest message {number + 1}", message.blocks
    yield built(digest.digest_blocks, "digest blocks", report)
    yield built(digest.digest_in_full, "digest in full", report)

    # replies to /initiative
    yield built(replies.initiative_list, "initiative list", [initiative(n) for n in range(3)], total=3,
                scope_label="in progress", catalog=CATALOG)
    card_parts = {
        "owners": {"business": "U0MARIA"}, "catalog": CATALOG, "review": review(),
        "sign_offs": [sign_off(), sign_off("approved", "business", 2)], "deadlines": {1: NOW + timedelta(days=7)},
        "reader_zone": None, "standing": outcome(), "kpis": standings(), "classification": classification(),
        "after_go_live": ["⚠️ *At risk* since today: not confirmed"], "conditions": condition_views(),
        "waiting_on": {"U0DEV": 2}, "next_target": replies.NextTarget(TODAY, passed=True),
    }
    yield built(replies.initiative_card, "initiative card", initiative(), **card_parts)
    yield built(replies.initiative_card, "shared initiative card", initiative(), shared_by="U0MARIA", **card_parts)
    yield built(replies.initiative_card_blocks, "initiative card blocks", initiative(), **card_parts)
    yield built(replies.owners_reply, "owners", initiative(), {"business": "U0MARIA"}, CATALOG, changed=True)
    events = [AuditEvent(id=1, team_id="T1", at=NOW, actor="U0MARIA", action="initiative.edited",
                         subject_type="initiative", subject_key="AI-1", after={"reason": "x"})]
    yield built(replies.history_reply, "history", initiative(), events, CATALOG)
    yield built(replies.help_reply, "help", SUBCOMMANDS.help_text())
    yield built(replies.unknown_subcommand, "unknown subcommand", "frobnicate", known=["new", "show"])
    yield built(replies.error_reply, "error", "Nope", usage="/initiative show <KEY>")
    yield built(replies.done, "done", "Done.")
    hit = Hit(initiative(), {"business": "U0MARIA"}, f"Predicts {MATCH_START}churn{MATCH_END} of customers")
    yield built(search.search_results, "search results", [hit], total=1, asked="churn", catalog=CATALOG)
    yield built(search.search_results, "no search results", [], total=0, asked="churn", catalog=CATALOG)
    yield built(conditions.conditions_reply, "conditions", condition_views(), total=30, scope_label="mine",
                reader_zone=ZONE)
    yield built(conditions.conditions_reply, "no conditions", [], total=0, scope_label="mine", reader_zone=ZONE)
    yield built(portfolio_io.import_help, "import help")
    yield built(regulation.recorded, "recorded with Classify", "AI-1", "Recorded *AI-1*.")
    yield built(regulation.classify_button, "Classify button", "AI-1")
    at = NOW
    yield built(regulation.compliance_reply, "compliance", compliance_report({
        "EU-AI-ACT:Art.9": Cell("met", "idea-to-pilot/risk", "U0COMP", at, ("https://wiki.example.com/r",)),
        "EU-AI-ACT:Art.10": Cell("waived", "idea-to-pilot/data", "U0DEV", at, reason="pilot data only"),
        "EU-AI-ACT:Art.72": Cell("open"),
    }))
    yield built(regulation.compliance_reply, "compliance unclassified", compliance_report({}, tier=None))
    yield built(gates.overview, "gates overview", CATALOG, is_admin=True)


def emitted_types(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(kind, type) for every typed object anywhere in `blocks`, by the page's table that draws it: "block",
    "element", "text" (text objects), "context" (a context block's elements) or "rich_text" (what a rich_text block,
    or a rich-text input's value, is made of). Every nested object is visited, whatever key holds it."""
    for block in blocks:
        yield from _typed(block, "block")


def _typed(node: Mapping[str, Any], kind: str) -> Iterator[tuple[str, str]]:
    yield kind, node["type"]
    for key, value in node.items():
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, Mapping):
                yield from _child(node, kind, key, child)


def _child(parent: Mapping[str, Any], kind: str, key: str, child: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if "type" not in child:  # an option, option group or confirm dialog: what it holds is drawn as text
        for key_inside, value in child.items():
            for inner in value if isinstance(value, list) else [value]:
                if isinstance(inner, Mapping):
                    yield from _child(parent, kind, key_inside, inner)
    elif kind == "rich_text" or (kind == "block" and parent["type"] == "rich_text" and key == "elements"):
        yield from _typed(child, "rich_text")
    elif kind == "element" and parent["type"] == "rich_text_input" and key == "initial_value":
        for part in child.get("elements", ()):  # the value is a rich_text; the page draws its parts
            yield from _typed(part, "rich_text")
    elif kind == "block" and parent["type"] == "context" and key == "elements":
        yield from _typed(child, "context")
    elif kind == "block" and key in ("accessory", "element", "elements"):
        yield from _typed(child, "element")
    else:  # a block's or an element's text, label, hint, title, placeholder, fields, options' text...
        yield from _typed(child, "text")


def rendered_by_page(table: str) -> set[str]:
    """The keys of the page's `const <table> = {…};` renderer table in app.js."""
    script = (files("bot.playground") / "static" / "app.js").read_text()
    body = re.search(rf"^const {table} = \{{\n(.*?)^\}};", script, re.MULTILINE | re.DOTALL)
    assert body, f"app.js has no {table} table"
    return set(re.findall(r"^  (\w+):", body.group(1), re.MULTILINE))


def test_every_public_function_of_the_views_is_walked_or_builds_no_blocks():
    walked = {qualified(builder) for builder, _, _ in built_views()}
    public = builders()
    assert set(public) - walked - NOT_BLOCKS == set(), "walk these in built_views(), or list them in NOT_BLOCKS"
    assert NOT_BLOCKS - set(public) == set(), "no such public function any more"
    assert walked & NOT_BLOCKS == set()
    # A function listed as building no blocks says so: its return annotation names no block, message or view.
    annotations = {name: str(inspect.signature(public[name]).return_annotation) for name in NOT_BLOCKS}
    assert {name: shown for name, shown in annotations.items()
            if shown == str(inspect.Signature.empty) or BLOCKS_ANNOTATION.search(shown)} == {}


def test_the_page_draws_every_type_the_builders_emit():
    texts = rendered_by_page("TEXT_OBJECTS")
    supported = {"block": rendered_by_page("BLOCKS"), "element": rendered_by_page("ELEMENTS"), "text": texts,
                 "context": CONTEXT_ELEMENTS | texts, "rich_text": rendered_by_page("RICH_TEXT")}
    emitted: dict[tuple[str, str], str] = {}
    for builder, what, blocks_ in built_views():
        assert blocks_, f"{qualified(builder)} built no blocks for the {what}"
        for found in emitted_types(blocks_):
            emitted.setdefault(found, what)
    # The walk sees what the modals, the messages and the App Home are made of.
    assert {("element", t) for t in ("button", "checkboxes", "static_select", "users_select", "datepicker",
                                     "rich_text_input", "plain_text_input", "radio_buttons")} <= emitted.keys()
    assert {("block", t) for t in ("header", "section", "context", "divider", "actions", "input")} <= emitted.keys()
    assert {("text", "mrkdwn"), ("text", "plain_text"), ("context", "mrkdwn")} <= emitted.keys()
    unsupported = {f"{kind} {kind_type} (in the {what})" for (kind, kind_type), what in emitted.items()
                   if kind_type not in supported[kind]}
    assert unsupported == set()


def test_the_walk_finds_types_wherever_they_nest():
    rich = {"type": "rich_text", "elements": [{"type": "rich_text_list", "elements": [
        {"type": "rich_text_section", "elements": [{"type": "user", "user_id": "U1"}]}]}]}
    accessory = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "accessory": {
        "type": "overflow", "options": [{"text": {"type": "plain_text", "text": "a"}, "value": "a"}],
        "confirm": {"title": {"type": "plain_text", "text": "Sure?"}, "text": {"type": "mrkdwn", "text": "y"}}}}
    input_ = {"type": "input", "label": {"type": "plain_text", "text": "L"}, "element": {
        "type": "rich_text_input", "action_id": "v", "initial_value": {"type": "rich_text", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "channel", "channel_id": "C1"}]}]}}}
    found = set(emitted_types([rich, accessory, input_]))
    assert found == {("block", "rich_text"), ("rich_text", "rich_text_list"), ("rich_text", "rich_text_section"),
                     ("rich_text", "user"), ("block", "section"), ("text", "mrkdwn"), ("element", "overflow"),
                     ("text", "plain_text"), ("block", "input"), ("element", "rich_text_input"),
                     ("rich_text", "channel")}


def test_the_page_draws_every_part_of_rich_text_slack_sends():
    # Slack's rich text: sections, lists, quotes and code, holding text, links, mentions, emoji and dates.
    assert rendered_by_page("RICH_TEXT") >= {
        "rich_text_section", "rich_text_list", "rich_text_quote", "rich_text_preformatted",
        "text", "link", "user", "channel", "usergroup", "broadcast", "emoji", "date"}


MODULES = ["bot.presenters", "bot.notifications",
           *(f"bot.views.{m.name}" for m in pkgutil.iter_modules(bot.views.__path__))]


def used_types(kind: type) -> set[str]:
    """The `type` of each Block Kit class of `kind` that a view module imports or defines: a net for what the walk
    above does not build (the presenters' and notifications' own blocks)."""
    found = set()
    for name in MODULES:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, type) and issubclass(value, kind) and isinstance(getattr(value, "type", None), str):
                found.add(value.type)
    return found


def test_the_page_renders_every_block_and_element_class_the_view_modules_use():
    assert used_types(BlockElement) - rendered_by_page("ELEMENTS") == set()
    assert used_types(Block) - rendered_by_page("BLOCKS") == set()
