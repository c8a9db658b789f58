"""`import`: a spreadsheet becomes initiatives, all or nothing, and a second import of it changes nothing."""

from __future__ import annotations

from sqlmodel import col, select

from bot.services.access.visibility import Audience
from bot.services.digest.service import channel_audience, compute_digest
from bot.services.initiatives.service import create_initiative, owners_of
from bot.services.portfolio_io.importing import SlackPerson
from bot.views.digest import digest_blocks
from storage.models import AuditEvent, Digest, GateReview, OwnerAssignment, SignOff, StageTransition
from storage.types import utcnow
from tests.services.portfolio_io.support import import_file, initiatives
from tests.support.factories import TEAM, actor, kpi_texts

EVERYONE = Audience.workspace(team_id=TEAM)


def test_a_semicolon_csv_with_a_bom_and_columns_in_any_order_becomes_initiatives(runtime):
    content = ("\ufeffStage;Title;Business owner;risk_tier;tags;business_unit;created;kpi_name\r\n"
               "pilot;Churn model;UMARIA;high;Retail, churn;Retail;2025-11-03;Churn rate\r\n"
               ";Invoice OCR;;;;;;\r\n")
    outcome = import_file(runtime, "portfolio.csv", content)
    assert outcome.problems == []
    churn, ocr = initiatives(runtime)
    assert (churn.key, churn.title, churn.stage, churn.risk_tier) == ("AI-1", "Churn model", "pilot", "high")
    assert (churn.tags, churn.business_unit) == (["churn", "retail"], "Retail")
    assert kpi_texts(runtime, churn) == {"kpi_name": "Churn rate", "kpi_baseline": "", "kpi_target": ""}
    assert churn.created_at.date().isoformat() == "2025-11-03"
    assert (ocr.key, ocr.stage, ocr.risk_tier, ocr.status) == ("AI-2", "idea", "medium", "active")
    with runtime.read() as session:
        assert owners_of(session, initiative_id=churn.id) == {"business": "UMARIA"}


def test_a_later_stage_says_it_was_imported_there_and_invents_no_sign_offs(runtime):
    import_file(runtime, "p.csv", "title,stage\nChurn model,production\n")
    [churn] = initiatives(runtime)
    with runtime.read() as session:
        [transition] = session.exec(select(StageTransition)).all()
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "initiative.imported")).all()
        assert session.exec(select(GateReview)).all() == [] and session.exec(select(SignOff)).all() == []
    assert (transition.from_stage, transition.to_stage, transition.reason) == (None, "production",
                                                                              "imported into production")
    assert transition.id == churn.current_transition_id and transition.audit_event_id == event.id
    assert (event.actor, event.subject_key, event.after["file"], event.after["stage"]) == (
        "UADMIN", "AI-1", "p.csv", "production")


def test_every_problem_of_the_file_is_reported_and_nothing_is_written(runtime):
    content = ("title,stage,risk_tier,business_owner,created\n"
               "Churn model,pilot,severe,UMARIA,2025-01-01\n"
               ",idea,low,,\n"
               "Invoice OCR,launch,low,maria,2025-02-30\n"
               "Forecasting,idea,low,UDEV,2025-01-01\n")
    outcome = import_file(runtime, "p.csv", content)
    assert outcome.problems == [
        "p.csv:2: risk_tier: Risk must be one of low, medium, high; got 'severe'.",
        "p.csv:3: title: A title is required.",
        "p.csv:4: business_owner: 'maria' is neither a Slack user id (like U012AB3CD) nor an e-mail address.",
        "p.csv:4: created: '2025-02-30' is not a date; write it as YYYY-MM-DD, like 2026-03-31.",
        "p.csv:4: stage: 'launch' is not a stage here; the stages are idea, pilot, production, scaled",
    ]
    assert initiatives(runtime) == []


def test_unknown_columns_are_named_and_stop_the_import(runtime):
    outcome = import_file(runtime, "p.csv", "title,owner,Budget\nChurn model,UMARIA,10\n")
    assert len(outcome.problems) == 1
    assert outcome.problems[0].startswith("p.csv:1: header: unknown column(s) owner, budget; the columns are key, "
                                          "title,")
    assert import_file(runtime, "p.csv", "name\nChurn\n").problems[-1].startswith("p.csv:1: header: no title column")
    assert initiatives(runtime) == []


def test_importing_the_same_file_twice_changes_nothing_the_second_time(runtime):
    content = "title,stage,data_owner,tags\nChurn model,pilot,UDEV,a\nInvoice OCR,,,\n"
    first = import_file(runtime, "p.csv", content)
    assert [i.key for i in first.result.created] == ["AI-1", "AI-2"]
    with runtime.read() as session:
        events = len(session.exec(select(AuditEvent)).all())
    second = import_file(runtime, "p.csv", content)
    assert (second.result.created, second.result.updated, second.result.unchanged) == ([], [], 2)
    assert [i.key for i in initiatives(runtime)] == ["AI-1", "AI-2"]
    with runtime.read() as session:
        assert len(session.exec(select(AuditEvent)).all()) == events


def test_a_title_already_there_in_any_case_or_spacing_updates_that_initiative(runtime):
    with runtime.transaction() as session:
        create_initiative(session, actor=actor("UMARIA"), title="Churn  Model", kpi_name="Churn rate")
    outcome = import_file(runtime, "p.csv", "title,kpi_target,engineering_owner\n  churn model ,5%,UDEV\n")
    [update] = outcome.result.updated
    assert (update.initiative.key, update.changed) == ("AI-1", ["kpi_target", "engineering owner"])
    [churn] = initiatives(runtime)
    assert churn.title == "Churn Model"  # blank cells keep
    assert kpi_texts(runtime, churn) == {"kpi_name": "Churn rate", "kpi_baseline": "", "kpi_target": "5%"}
    with runtime.read() as session:
        assert owners_of(session, initiative_id=churn.id) == {"engineering": "UDEV"}
        about = select(AuditEvent).where(AuditEvent.initiative_id == churn.id).order_by(col(AuditEvent.seq))
        actions = [e.action for e in session.exec(about)]
        actors = {e.actor for e in session.exec(about.where(AuditEvent.action != "initiative.created"))}
    assert actions == ["initiative.created", "initiative.edited", "owners.changed"] and actors == {"UADMIN"}


def test_a_key_updates_its_initiative_even_under_a_new_title(runtime):
    with runtime.transaction() as session:
        create_initiative(session, actor=actor("UMARIA"), title="Churn model")
    import_file(runtime, "p.csv", "key,title\nai-1,Customer churn model\n")
    assert [(i.key, i.title) for i in initiatives(runtime)] == [("AI-1", "Customer churn model")]
    assert import_file(runtime, "p.csv", "key,title\nAI-7,Other\n").problems == [
        "p.csv:2: key: there is no initiative AI-7 here; leave the key empty to add it as a new one"]


def test_a_title_matching_two_initiatives_and_a_stage_change_are_refused(runtime):
    with runtime.transaction() as session:
        for title in ("Churn model", "CHURN MODEL", "Invoice OCR"):
            create_initiative(session, actor=actor("UMARIA"), title=title)
    outcome = import_file(runtime, "p.csv", "title,stage,kpi_name\nChurn Model,,x\nInvoice OCR,pilot,y\n")
    assert outcome.problems == [
        "p.csv:2: title: matches AI-1 and AI-2; add a key column to say which one this row updates",
        "p.csv:3: stage: AI-3 is in Idea; an import never moves an initiative between stages (its gates do: "
        "/initiative submit AI-3)",
    ]
    assert {kpi_texts(runtime, i)["kpi_name"] for i in initiatives(runtime)} == {""}
    assert {i.stage for i in initiatives(runtime)} == {"idea"}
    # The stage it is in, by id or by name, is no change.
    assert import_file(runtime, "p.csv", "title,stage\nInvoice OCR,IDEA\n").result.unchanged == 1


def test_one_initiative_twice_in_a_file_is_refused(runtime):
    outcome = import_file(runtime, "p.csv", "title\nChurn model\nchurn  MODEL\n")
    assert outcome.problems == ["p.csv:3: title: the same initiative as line 2; give each initiative one row"]


def test_each_address_is_asked_once_and_unknown_people_are_errors(runtime):
    asked = []
    directory = {"maria@example.com": SlackPerson("UMARIA"), "gone@example.com": SlackPerson("UGONE", True)}

    def lookup(address):
        asked.append(address)
        return directory.get(address)

    content = ("title,business_owner,data_owner,sponsor\n"
               "A,Maria@Example.com,maria@example.com,<@UCARL|carl>\n"
               "B,maria@example.com,nobody@example.com,\n"
               "C,gone@example.com,,\n")
    outcome = import_file(runtime, "p.csv", content, lookup=lookup)
    assert sorted(asked) == ["UCARL", "gone@example.com", "maria@example.com", "nobody@example.com"]
    assert outcome.problems == [
        "p.csv:3: data_owner: Slack knows no one with the address nobody@example.com",
        "p.csv:4: business_owner: gone@example.com belongs to a deactivated Slack account (UGONE)",
    ]
    assert initiatives(runtime) == []
    outcome = import_file(runtime, "p.csv", content.replace("nobody", "maria").replace("gone@", "maria@"),
                          lookup=lookup)
    assert outcome.problems == []
    with runtime.read() as session:
        owners = {(o.role, o.user_id) for o in session.exec(select(OwnerAssignment)
                                                             .where(OwnerAssignment.initiative_id == 1))}
    assert owners == {("business", "UMARIA"), ("data", "UMARIA"), ("sponsor", "UCARL")}


def test_addresses_without_a_slack_token_are_an_error_that_says_what_to_do(runtime):
    outcome = import_file(runtime, "p.csv", "title,business_owner\nA,maria@example.com\n", lookup=None)
    assert outcome.problems == ["p.csv:2: business_owner: maria@example.com cannot be looked up without Slack: set "
                                "SLACK_BOT_TOKEN, or give the person's Slack user id (U…)"]


def test_a_dry_run_plans_and_writes_nothing(runtime):
    with runtime.transaction() as session:
        create_initiative(session, actor=actor("UMARIA"), title="Churn model")
    outcome = import_file(runtime, "p.csv", "title,kpi_name\nChurn model,Churn rate\nInvoice OCR,\n", dry_run=True)
    assert [new.fields["title"] for new in outcome.plan.creates] == ["Invoice OCR"]
    assert [u.changed for u in outcome.plan.updates] == [["kpi_name"]]
    assert [(i.title, kpi_texts(runtime, i)["kpi_name"]) for i in initiatives(runtime)] == [("Churn model", "")]


def test_new_keys_follow_the_workspace_counter(runtime):
    with runtime.transaction() as session:
        create_initiative(session, actor=actor("UMARIA"), title="First")
    import_file(runtime, "p.csv", "title\nSecond\nThird\n")
    with runtime.transaction() as session:
        fourth = create_initiative(session, actor=actor("UMARIA"), title="Fourth")
    assert fourth.key == "AI-4"
    assert [i.key for i in initiatives(runtime)] == ["AI-1", "AI-2", "AI-3", "AI-4"]


def test_the_imported_events_extend_a_chain_that_verifies(runtime):
    from bot.services.audit.chain import verify_chain

    with runtime.transaction() as session:
        create_initiative(session, actor=actor("UMARIA"), title="First")
    import_file(runtime, "p.csv", "title,business_owner\nSecond,UDEV\nThird,UMARIA\n")
    with runtime.read() as session:
        seqs = list(session.exec(select(AuditEvent.seq).order_by(col(AuditEvent.seq))))
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 3
        assert verify_chain(session.connection(), team_id=TEAM).ok


def test_the_owners_homes_are_refreshed_once(runtime):
    from bot.wiring import build_runtime
    from storage.models import OutboxMessage

    wired = build_runtime(runtime.settings)
    import_file(wired, "p.csv", "title,business_owner,data_owner\nA,UDEV,UMARIA\nB,UDEV,\n")
    with wired.read() as session:
        homes = sorted(m.payload.get("user_id") for m in session.exec(select(OutboxMessage)))
    wired.engine.dispose()
    assert homes == ["UDEV", "UMARIA"]


def test_retired_and_paused_rows_keep_their_status(runtime):
    import_file(runtime, "p.csv", "title,status\nOld bot,retired\nOn hold,Paused\n")
    old, hold = initiatives(runtime)
    assert (old.status, old.retired_reason, hold.status) == ("retired", "imported as retired", "paused")
    assert import_file(runtime, "p.csv", "title,status\nOn hold,active\n").problems == [
        "p.csv:2: status: AI-2 is paused; change that with /initiative pause, resume or retire"]


def test_an_empty_cell_never_clears_a_field_even_one_of_invisible_characters(runtime):
    with runtime.transaction() as session:
        create_initiative(session, actor=actor("UMARIA"), title="Churn model", kpi_name="Churn rate",
                          tags=["retail"])
    outcome = import_file(runtime, "p.csv", "title,kpi_name,tags,description\nChurn model,\u200b,  ,\n")
    assert (outcome.problems, outcome.result.unchanged) == ([], 1)
    [churn] = initiatives(runtime)
    assert (kpi_texts(runtime, churn)["kpi_name"], churn.tags) == ("Churn rate", ["retail"])


def test_the_weeks_digest_lists_imported_initiatives_apart_from_new_ones(runtime):
    with runtime.transaction() as session:
        create_initiative(session, actor=actor("UMARIA"), title="Fraud model")
    import_file(runtime, "p.csv", "title,stage\nChurn model,production\nPricing model,idea\n")
    digest = Digest(team_id=TEAM, name="default", channel_id="C1", timezone="Europe/Berlin", created_by="system")
    with runtime.read() as session:
        report = compute_digest(session, digest=digest, as_of=utcnow(), audience=channel_audience(digest),
                                default_zone=runtime.settings.default_zone)
    assert [m.title for m in report.new] == ["Fraud model"]
    assert sorted(m.title for m in report.imported) == ["Churn model", "Pricing model"]
    assert "*Imported*" in str([block.to_dict() for block in digest_blocks(report)])
