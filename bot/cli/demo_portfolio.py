"""What `initiative-bot demo` runs: a sample portfolio on its own SQLite file, with one initiative taken through a
gate and one in Production re-attested with a stale model, then, the next working morning, the reminders, the
digest and the first initiative's history.

Every message is printed as a person reads it in Slack (`bot.views.plain_text`): names for mentions, dates in
words. The morning's messages are all as of one instant, so their days and deadlines agree.

It needs no Slack workspace and never touches DATABASE_URL: it writes ./initiative-demo.db afresh each run. Not a
command module: `bot.cli.demo` imports it when the command runs, so its imports cost `--help` nothing.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlmodel import Session, select

from bot.adapters.nudges import run_sweep
from bot.cli.digest import show_digest
from bot.config import Settings
from bot.integrations.mlflow import ModelVersion
from bot.playground.sample import (
    CHANNELS,
    PEOPLE,
    PORTFOLIO_CHANNEL,
    SAMPLE_TEAM,
    sample_actor,
    seed_people,
    seed_portfolio,
)
from bot.presenters import initiative_card, sign_off_card
from bot.runtime import Runtime
from bot.services.access.service import Actor, Audience
from bot.services.attestation.scheduled import run_reattestations
from bot.services.attestation.service import ModelToCheck, record_model_age
from bot.services.business_days import at_local, local_date, next_business_day
from bot.services.digest.service import preview_digest
from bot.services.gates.service import catalog_for
from bot.services.initiatives.service import get_initiative, history, portfolio_by_stage
from bot.services.kpis.service import record_actual
from bot.services.nudges.service import ESCALATION, NUDGE
from bot.services.reviews import service as reviews
from bot.services.reviews.service import checklist_of, sign_offs_of
from bot.views.messages import sign_off_request
from bot.views.nudges import nudge_message
from bot.views.plain_text import Reader, format_date, render_blocks
from bot.views.replies import history_reply, stage_name
from bot.wiring import build_runtime
from storage.migrate import upgrade
from storage.models import GateReview, SignOff
from storage.types import utcnow

DEMO_DATABASE = Path("initiative-demo.db")
DEMO_TEAM = SAMPLE_TEAM
DEMO_WORKSPACE = Audience.workspace(team_id=DEMO_TEAM)  # the demo prints what everyone there sees
DEMO_CHART = Path("initiative-demo-digest.png")
DEMO_CHANNEL = PORTFOLIO_CHANNEL


WHEN = "{date_long_pretty} at {time}"


@dataclass
class Demo:
    runtime: Runtime
    now: datetime  # when the gate review happens
    morning: datetime  # the next working morning, when the reminders, the digest and the history are read
    say: Callable[[str], None]
    ansi: bool = False

    def actor(self, user_id: str) -> Actor:
        return sample_actor(user_id)

    def reader(self, now: datetime) -> Reader:
        """Someone in the demo's workspace, reading at `now` (for "today" and "yesterday")."""
        return Reader(zone=self.runtime.settings.default_zone, people=PEOPLE, channels=CHANNELS, now=now,
                      ansi=self.ansi)

    def show(self, blocks: Sequence[dict], now: datetime) -> None:  # type: ignore[type-arg]
        self.say(self.shown(blocks, now))

    def shown(self, blocks: Sequence[dict], now: datetime) -> str:  # type: ignore[type-arg]
        """A message as Slack shows it, set off from the narration by a bar."""
        return textwrap.indent(render_blocks(blocks, self.reader(now)), "  │ ", lambda line: True)


def run_demo(settings: Settings, *, say: Callable[[str], None] = print, ansi: bool = False) -> Path:
    """Build the sample portfolio and narrate it; `ansi` shows bold as a terminal's bold. Returns the path of the
    demo database."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
    runtime = build_runtime(settings, database_url=f"sqlite:///{DEMO_DATABASE}")
    upgrade(runtime.engine)
    now, zone = utcnow(), settings.default_zone
    morning = at_local(next_business_day(local_date(now, zone)), time(10, 0), zone)
    demo = Demo(runtime=runtime, now=now, morning=morning, say=say, ansi=ansi)
    say(f"Initiative Bot demo: a sample portfolio in ./{DEMO_DATABASE} (no Slack workspace needed). Times are "
        f"in {zone.key} (DEFAULT_TIMEZONE).\n")
    with runtime.transaction() as session:
        seed_people(session)
        seed_portfolio(session, now=now)
    _walk_through_a_gate(demo)
    _after_go_live(demo)
    say(f"\n— The next working morning, {format_date(morning, WHEN, demo.reader(now))} —")
    with runtime.transaction() as session:
        _print_portfolio(session, demo)
    say("\n— Reminders: sign-offs left waiting —")
    _show_reminders(demo, waiting=(("AI-6", 12), ("AI-3", 4)))
    say(f"\n— This week's digest, as posted in #{CHANNELS[DEMO_CHANNEL]} (its chart goes in the thread) —")
    digest = preview_digest(DEMO_TEAM, settings.model_copy(update={"digest_channel": DEMO_CHANNEL}))
    show_digest(runtime, digest=digest, as_of=morning, chart=DEMO_CHART, say=say,
                render=lambda blocks: demo.shown(blocks, morning))
    say("\n— What /initiative history AI-1 answers —")
    with runtime.read() as session:
        initiative = get_initiative(session, audience=DEMO_WORKSPACE, key="AI-1")
        reply = history_reply(initiative, history(session, initiative=initiative), catalog_for(session,
                                                                                                  team_id=DEMO_TEAM))
    demo.show(reply.blocks, morning)
    runtime.engine.dispose()
    return DEMO_DATABASE


def _walk_through_a_gate(demo: Demo) -> None:
    say, zone = demo.say, demo.runtime.settings.default_zone
    say(f"— A gate review, step by step ({format_date(demo.now, WHEN, demo.reader(demo.now))}) —")
    with demo.runtime.transaction() as session:
        catalog = catalog_for(session, team_id=DEMO_TEAM)
        initiative = get_initiative(session, audience=DEMO_WORKSPACE, key="AI-1")
        review = reviews.submit_for_next_gate(session, actor=demo.actor("U0MARIA"), initiative=initiative,
                                              now=demo.now)
        say(f"Maria submits {initiative.key} “{initiative.title}” ({initiative.risk_tier} risk) for "
            f"{catalog.gate(review.gate_slug).name} ({stage_name(catalog, review.from_stage)} → "
            f"{stage_name(catalog, review.to_stage)}). Each owner gets a DM with their checklist:")
        sign_offs = sign_offs_of(session, review_id=review.id)
        for sign_off in sign_offs:
            say(f"  • {catalog.role_name(sign_off.role)}: {PEOPLE[sign_off.assignee]}")
        request = sign_off_request(sign_off_card(session, sign_offs[0], default_zone=zone))
        say(f"\nThe DM {PEOPLE[sign_offs[0].assignee]} gets:")
        demo.show(request.blocks, demo.now)
        review_id = review.id
    say("")
    for sign_off_id, role, assignee in _pending(demo, review_id):
        with demo.runtime.transaction() as session:
            review = session.get(GateReview, review_id)
            sign_off = session.get(SignOff, sign_off_id)
            items = checklist_of(session, sign_off, review)
            waivers = {items[-1].id: "Covered by the group-wide assessment"} if role == "compliance" else {}
            decision = reviews.approve(
                session, actor=demo.actor(assignee), sign_off_id=sign_off_id,
                ticked=[item.id for item in items if item.id not in waivers], waivers=waivers,
                comment="Looks good", evidence_links=["https://wiki.example.com/claims-triage/model-card"],
                now=demo.now,
            )
            waived = "".join(f", waiving “{item.label}” ({waivers[item.id]})" for item in items if item.id in waivers)
            say(f"  ✓ {PEOPLE[assignee]} approves as {catalog.role_name(role)}{waived}")
            if decision.gate_passed:
                say(f"  → Every required owner approved: {decision.initiative.key} moves to "
                    f"{stage_name(catalog, decision.initiative.stage)}.")
    with demo.runtime.transaction() as session:
        sign_off_id, role, assignee = _first_sign_off(session, review_id)
        again = reviews.approve(session, actor=demo.actor(assignee), sign_off_id=sign_off_id, now=demo.now)
        assert again.sign_off.decided_at is not None
        say(f"  A second click by {PEOPLE[assignee]} records nothing new: already {again.sign_off.state} "
            f"{format_date(again.sign_off.decided_at, WHEN, demo.reader(demo.now))}.")


def _after_go_live(demo: Demo) -> None:
    """AI-4, in Production for over 90 days, with three KPI actuals: MLflow's (simulated) answer flags its model
    stale, its quarterly re-attestation opens, and the engineering owner cannot confirm it was retrained: At risk."""
    say, zone = demo.say, demo.runtime.settings.default_zone
    say(f"\n— After go-live: AI-4 is re-attested ({format_date(demo.now, WHEN, demo.reader(demo.now))}) —")
    with demo.runtime.transaction() as session:
        initiative = get_initiative(session, audience=DEMO_WORKSPACE, key="AI-4")
        initiative.mlflow_model = "demand-forecast"
        session.add(initiative)
        created = demo.now - timedelta(days=240)
        record_model_age(session, wanted=ModelToCheck(initiative.id, "demand-forecast", "champion", 180), now=demo.now,
                         found=ModelVersion("7", created, f"version 7 (@champion) created {created:%Y-%m-%d}"))
        say(f"MLflow (simulated here) says AI-4's model demand-forecast@champion was created {created:%Y-%m-%d}; "
            "Production allows 180 days, so AI-4 is flagged Stale model.")
        # Its business owner has recorded the KPI's actuals month by month: still short of the target of 150.
        for days_ago, hours in ((62, "320"), (33, "260"), (3, "210")):
            record_actual(session, actor=demo.actor("U0MARIA"), initiative=initiative, value=hours,
                          measured_on=(demo.now - timedelta(days=days_ago)).astimezone(zone).date(),
                          today=demo.now.astimezone(zone).date())
        say("Maria has recorded three actuals of its KPI, hours of manual handling per week: 320, 260, 210.")
    run_reattestations(demo.runtime, now=demo.now)
    with demo.runtime.transaction() as session:
        initiative = get_initiative(session, audience=DEMO_WORKSPACE, key="AI-4")
        review = session.exec(select(GateReview).where(GateReview.initiative_id == initiative.id,
                                                       GateReview.state == "open")).one()
        sign_offs = sign_offs_of(session, review_id=review.id)
        engineering = next(s for s in sign_offs if s.role == "engineering")
        say(f"It has been in Production over 90 days: its owners are asked to re-attest it. The DM "
            f"{PEOPLE[engineering.assignee]} gets:")
        demo.show(sign_off_request(sign_off_card(session, engineering, default_zone=zone)).blocks, demo.now)
        for sign_off in sign_offs:
            items = checklist_of(session, sign_off, review)
            no = ({"retrained": "Champion is 240 days old; retraining is planned for next sprint"}
                  if sign_off.role == "engineering" else {})
            reviews.approve(session, actor=demo.actor(sign_off.assignee), sign_off_id=sign_off.id, waivers=no,
                            ticked=[item.id for item in items if item.id not in no], now=demo.now)
            say(f"  {'✗' if no else '✓'} {PEOPLE[sign_off.assignee]} "
                + (f"cannot confirm “Retrained within policy”: {no['retrained']}" if no else "confirms"))
    with demo.runtime.read() as session:
        initiative = get_initiative(session, audience=DEMO_WORKSPACE, key="AI-4")
        say("\nAI-4 is flagged At risk; its sponsor and the admins get a DM. What /initiative show AI-4 answers:")
        demo.show(initiative_card(session, initiative, default_zone=zone, reader="U0ADMIN").blocks, demo.now)


def _pending(demo: Demo, review_id: int) -> list[tuple[int, str, str]]:
    with demo.runtime.transaction() as session:
        return [(s.id, s.role, s.assignee) for s in sign_offs_of(session, review_id=review_id)]


def _first_sign_off(session: Session, review_id: int) -> tuple[int, str, str]:
    first = sign_offs_of(session, review_id=review_id)[0]
    return first.id, first.role, first.assignee


def _print_portfolio(session: Session, demo: Demo) -> None:
    demo.say("— Portfolio by stage —")
    for column in portfolio_by_stage(session, audience=DEMO_WORKSPACE, now=demo.morning):
        demo.say(f"{column.stage.name} ({len(column.initiatives)})")
        for item in column.initiatives:
            flag = f"  [{item.status}]" if item.status != "active" else ""
            stalled = "  ⚠ stalled" if item.stalled else ""
            demo.say(f"  {item.key:<6} {item.title:<34} risk {item.risk_tier:<6} "
                     f"{item.days_in_stage:>4} days in stage{flag}{stalled}")


def _show_reminders(demo: Demo, waiting: Sequence[tuple[str, int]]) -> None:
    """Leave reviews waiting (`waiting`: initiative key, calendar days before the gate review), then print the
    consolidated nudge and the escalation the next working morning's sweep would send."""
    with demo.runtime.transaction() as session:
        for key, days_ago in waiting:
            initiative = get_initiative(session, audience=DEMO_WORKSPACE, key=key)
            reviews.submit_for_next_gate(session, actor=demo.actor("U0MARIA"), initiative=initiative,
                                         now=demo.now - timedelta(days=days_ago))
    notices = [n for team in run_sweep(demo.runtime, now=demo.morning, send=False, team_id=DEMO_TEAM).teams
               for n in team.plan.notices]
    for kind, title in ((NUDGE, "consolidated nudge"), (ESCALATION, "escalation")):
        chosen = max((n for n in notices if n.kind == kind), key=lambda n: len(n.items), default=None)
        if chosen is None:
            continue
        demo.say(f"\nThe {title} DM to {PEOPLE.get(chosen.recipient, chosen.recipient)}:")
        demo.show(nudge_message(chosen).blocks, demo.morning)
