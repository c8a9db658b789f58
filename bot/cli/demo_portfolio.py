"""What `initiative-bot demo` runs: a sample portfolio on its own SQLite file, with one initiative taken through a
gate, then the reminders and the digest it would get.

It needs no Slack workspace and never touches DATABASE_URL: it writes ./initiative-demo.db afresh each run. Not a
command module: `bot.cli.demo` imports it when the command runs, so its imports cost `--help` nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlmodel import Session

from bot.cli.digest import show_digest
from bot.config import Settings
from bot.jobs.nudges import run_sweep
from bot.runtime import Runtime
from bot.services.access.actors import Actor
from bot.services.access.visibility import Audience
from bot.services.audit.identity import remember_identity
from bot.services.business_days import at_local, local_date, next_business_day
from bot.services.digest.definitions import preview_digest
from bot.services.gates.workspaces import catalog_for, ensure_workspace
from bot.services.initiatives.portfolio import portfolio_by_stage
from bot.services.initiatives.service import create_initiative, get_initiative
from bot.services.nudges.policy import ESCALATION, NUDGE
from bot.services.reviews import lifecycle
from bot.services.reviews import service as reviews
from bot.services.reviews.service import checklist_of, sign_offs_of
from bot.views.nudges import as_text, nudge_message
from bot.wiring import build_runtime
from storage.migrate import upgrade
from storage.models import GateReview, SignOff
from storage.types import utcnow

DEMO_DATABASE = Path("initiative-demo.db")
DEMO_TEAM = "T0DEMO"
DEMO_WORKSPACE = Audience.workspace(team_id=DEMO_TEAM)  # the demo prints what everyone there sees
DEMO_CHART = Path("initiative-demo-digest.png")
PEOPLE = {
    "U0MARIA": "Maria (Head of Claims)",
    "U0DEV": "Dev (Data platform)",
    "U0ENG": "Eng (ML engineering)",
    "U0COMP": "Chloe (Compliance)",
    "U0ADMIN": "Ada (AI programme office)",
}
OWNERS = {"business": "U0MARIA", "data": "U0DEV", "engineering": "U0ENG", "compliance": "U0COMP"}


@dataclass
class Demo:
    runtime: Runtime
    now: datetime
    say: Callable[[str], None]

    def actor(self, user_id: str) -> Actor:
        return Actor(team_id=DEMO_TEAM, user_id=user_id, is_admin=user_id == "U0ADMIN")


def run_demo(settings: Settings, *, say: Callable[[str], None] = print) -> Path:
    """Build the sample portfolio and narrate it. Returns the path of the demo database."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
    runtime = build_runtime(settings, database_url=f"sqlite:///{DEMO_DATABASE}")
    upgrade(runtime.engine)
    demo = Demo(runtime=runtime, now=utcnow(), say=say)
    say(f"Initiative Bot demo: a sample portfolio in ./{DEMO_DATABASE} (no Slack workspace needed).\n")
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=DEMO_TEAM, name="Demo Corp")
        for user_id, name in PEOPLE.items():
            remember_identity(session, team_id=DEMO_TEAM, user_id=user_id, display_name=name)
        _seed_portfolio(session, demo)
    _walk_through_a_gate(demo)
    with runtime.transaction() as session:
        _print_portfolio(session, demo)
    say("\n— Reminders: sign-offs left waiting —")
    _show_reminders(demo, waiting=(("AI-6", 12), ("AI-3", 4)))
    say("\n— This week's digest —")
    show_digest(runtime, digest=preview_digest(DEMO_TEAM, settings), as_of=utcnow(), chart=DEMO_CHART, say=say)
    runtime.engine.dispose()
    return DEMO_DATABASE


SAMPLES = [
    # title, risk, stage reached, days in the portfolio
    ("Claims triage assistant", "high", "idea", 3),
    ("Invoice field extraction", "low", "pilot", 300),
    ("Churn early-warning model", "medium", "pilot", 40),
    ("Demand forecasting for stores", "medium", "production", 300),
    ("Contract clause search", "low", "scaled", 420),
    ("Call-centre summarisation", "medium", "idea", 10),
]


def _seed_portfolio(session: Session, demo: Demo) -> None:
    catalog = catalog_for(session, team_id=DEMO_TEAM)
    stage_order = [stage.id for stage in catalog.stages]
    for title, risk, reached, age_days in SAMPLES:
        created = demo.now - timedelta(days=age_days)
        initiative = create_initiative(
            session, actor=demo.actor("U0MARIA"), title=title, risk_tier=risk, owners=OWNERS, now=created,
            problem="Manual work that does not scale", kpi_name="Hours of manual handling per week",
            kpi_baseline="400", kpi_target="150",
        )
        # Take it through each gate up to the stage it has reached, spacing the reviews over its lifetime.
        steps = stage_order.index(reached)
        for step in range(steps):
            at = created + timedelta(days=age_days * (step + 1) / (steps + 1))
            review = reviews.submit_for_next_gate(session, actor=demo.actor("U0MARIA"), initiative=initiative,
                                                  now=at)
            _approve_all(session, demo, review_id=review.id, at=at + timedelta(days=2))
    paused = create_initiative(session, actor=demo.actor("U0MARIA"), title="Supplier risk scoring",
                               risk_tier="medium", owners=OWNERS, now=demo.now - timedelta(days=60))
    lifecycle.pause(session, actor=demo.actor("U0MARIA"), initiative=paused, reason="waiting for data access")


def _approve_all(session: Session, demo: Demo, *, review_id: int, at: datetime) -> None:
    review = session.get(GateReview, review_id)
    for sign_off in sign_offs_of(session, review_id=review_id):
        items = checklist_of(session, sign_off, review)
        reviews.approve(session, actor=demo.actor(sign_off.assignee), sign_off_id=sign_off.id,
                        ticked=[item.id for item in items], now=at)


def _walk_through_a_gate(demo: Demo) -> None:
    say = demo.say
    say("— A gate review, step by step —")
    with demo.runtime.transaction() as session:
        initiative = get_initiative(session, audience=DEMO_WORKSPACE, key="AI-1")
        review = reviews.submit_for_next_gate(session, actor=demo.actor("U0MARIA"), initiative=initiative)
        say(f"{initiative.key} '{initiative.title}' (risk {initiative.risk_tier}) submitted for "
            f"{review.from_stage} → {review.to_stage}. Sign-offs requested:")
        for sign_off in sign_offs_of(session, review_id=review.id):
            labels = [item.label for item in checklist_of(session, sign_off, review)]
            say(f"  • {sign_off.role:<12} {PEOPLE[sign_off.assignee]}: {len(labels)} checklist items, "
                f"e.g. “{labels[0]}”")
        review_id = review.id
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
            )
            waived = f" (waived: {', '.join(waivers)})" if waivers else ""
            say(f"  ✓ {PEOPLE[assignee]} approved as {role}{waived}")
            if decision.gate_passed:
                say(f"  → every required role approved: {decision.initiative.key} advanced to "
                    f"{decision.initiative.stage}.")
    with demo.runtime.transaction() as session:
        sign_off_id, role, assignee = _first_sign_off(session, review_id)
        again = reviews.approve(session, actor=demo.actor(assignee), sign_off_id=sign_off_id)
        say(f"  A second click by {PEOPLE[assignee]} records nothing new: already {again.sign_off.state} "
            f"on {again.sign_off.decided_at:%Y-%m-%d %H:%M} UTC.\n")


def _pending(demo: Demo, review_id: int) -> list[tuple[int, str, str]]:
    with demo.runtime.transaction() as session:
        return [(s.id, s.role, s.assignee) for s in sign_offs_of(session, review_id=review_id)]


def _first_sign_off(session: Session, review_id: int) -> tuple[int, str, str]:
    first = sign_offs_of(session, review_id=review_id)[0]
    return first.id, first.role, first.assignee


def _print_portfolio(session: Session, demo: Demo) -> None:
    demo.say("— Portfolio by stage —")
    for column in portfolio_by_stage(session, audience=DEMO_WORKSPACE, now=demo.now):
        demo.say(f"{column.stage.name} ({len(column.initiatives)})")
        for item in column.initiatives:
            flag = f"  [{item.status}]" if item.status != "active" else ""
            stalled = "  ⚠ stalled" if item.stalled else ""
            demo.say(f"  {item.key:<6} {item.title:<34} risk {item.risk_tier:<6} "
                     f"{item.days_in_stage:>4} days in stage{flag}{stalled}")


def _show_reminders(demo: Demo, waiting: Sequence[tuple[str, int]]) -> None:
    """Leave reviews waiting (`waiting`: initiative key, calendar days ago), then print the consolidated nudge and
    the escalation the next working morning's sweep would send."""
    with demo.runtime.transaction() as session:
        for key, days_ago in waiting:
            initiative = get_initiative(session, audience=DEMO_WORKSPACE, key=key)
            reviews.submit_for_next_gate(session, actor=demo.actor("U0MARIA"), initiative=initiative,
                                         now=demo.now - timedelta(days=days_ago))
    zone = demo.runtime.settings.default_zone
    morning = at_local(next_business_day(local_date(demo.now, zone)), time(10, 0), zone)
    notices = [n for team in run_sweep(demo.runtime, now=morning, send=False, team_id=DEMO_TEAM).teams
               for n in team.plan.notices]
    for kind, title in ((NUDGE, "consolidated nudge"), (ESCALATION, "escalation")):
        chosen = max((n for n in notices if n.kind == kind), key=lambda n: len(n.items), default=None)
        if chosen is None:
            continue
        demo.say(f"\nThe {title} DM to {PEOPLE.get(chosen.recipient, chosen.recipient)} at "
                 f"{morning:%a %H:%M} {zone.key}:")
        demo.say("  " + as_text(nudge_message(chosen), names=PEOPLE).replace("\n", "\n  "))
