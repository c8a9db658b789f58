"""An initiative's audit events as sentences a person reads: "@Maria approved Pilot approval as Data owner on
Dec 3, 2026 at 10:00." Pure: an event and the gate definitions in, mrkdwn out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.services.gates.service import GateCatalog
from bot.services.kpis.service import format_measure
from bot.views.text import escape, mention, mrkdwn, slack_date
from storage.models import AuditEvent

WHEN = "{date_short} at {time}"
_FIELDS = {"kpi_name": "KPI", "kpi_baseline": "KPI baseline", "kpi_target": "KPI target", "problem": "business problem",
           "risk_tier": "risk tier", "channel_id": "channel", "business_unit": "team"}


def event_sentence(event: AuditEvent, catalog: GateCatalog, key: str) -> str:
    """What happened, who did it and when, as one sentence in mrkdwn (user text escaped)."""
    describe = _SENTENCES.get(event.action)
    what = describe(_Event(event, catalog, key)) if describe else f"{_who(event.actor)} {escape(_words(event.action))}"
    said = (event.after or {}).get(_SAID.get(event.action, ""))
    quoted = f": “{mrkdwn(said, 200)}”" if isinstance(said, str) and said else ""
    return f"{what} on {slack_date(event.at, fmt=WHEN)}{quoted}."


class _Event:
    """One event's parts, named for the sentences below."""

    def __init__(self, event: AuditEvent, catalog: GateCatalog, key: str) -> None:
        self.event, self.catalog, self.key = event, catalog, key
        self.who = _who(event.actor)
        self.before: Mapping[str, Any] = event.before or {}
        self.after: Mapping[str, Any] = event.after or {}
        parts = event.subject_key.split("/")  # KEY, KEY/gate or KEY/gate/role
        self.gate = escape(_gate_name(catalog, parts[1])) if len(parts) > 1 else "its gate"
        self.role = escape(catalog.role_name(parts[2])) if len(parts) > 2 else ""

    def stage(self, values: Mapping[str, Any]) -> str:
        stage_id = str(values.get("stage") or "")
        return escape(next((s.name for s in self.catalog.stages if s.id == stage_id), stage_id or "?"))


def _created(e: _Event) -> str:
    return f"{e.who} recorded {e.key} in {e.stage(e.after)}"


def _edited(e: _Event) -> str:
    names = [_FIELDS.get(name, name.replace("_", " ")) for name in e.after]
    return f"{e.who} changed the {escape(', '.join(names) or 'details')} of {e.key}"


def _owners(e: _Event) -> str:
    changes = [f"{escape(e.catalog.role_name(role))} {mention(e.before.get(role))} → {mention(new)}"
               for role, new in e.after.items()]
    return f"{e.who} changed the owners of {e.key}: {'; '.join(changes)}"


def _submitted(e: _Event) -> str:
    roles = [escape(e.catalog.role_name(role)) for role in e.after.get("roles", ())]
    return f"{e.who} submitted {e.key} for {e.gate}, asking the {_listed(roles) or 'owners'} to sign off"


def _approved(e: _Event) -> str:
    waived = len(e.after.get("waivers") or {})
    until = f" until {escape(str(e.after['waivers_expire_on']))}" if waived and e.after.get("waivers_expire_on") else ""
    waiving = f", waiving {waived} checklist item{'s' if waived != 1 else ''}{until}" if waived else ""
    return f"{e.who} approved {e.gate} as {e.role}{waiving}"


def _waived(e: _Event) -> str:
    return f"{e.who} waived the {e.role} sign-off of {e.gate}"


def _changes_requested(e: _Event) -> str:
    return f"{e.who} requested changes at {e.gate} as {e.role}"


def _review_closed(e: _Event) -> str:
    return f"{e.who} closed the {e.gate} review"


def _passed(e: _Event) -> str:
    return f"{e.key} passed {e.gate} and moved from {e.stage(e.before)} to {e.stage(e.after)}"


GATE_OUTCOME_WORDS = {"go": "Go", "conditional_go": "Conditional Go", "hold": "Hold", "recycle": "Recycle",
                      "kill": "Kill"}


def _decided(e: _Event) -> str:
    outcome = str(e.after.get("outcome") or "")
    target = e.after.get("target_on")
    aiming = f"; the next gate is targeted for {escape(str(target))}" if target else ""
    return f"{e.gate} decided {escape(GATE_OUTCOME_WORDS.get(outcome, outcome))} for {e.key}{aiming}"


def _waiver_expired(e: _Event) -> str:
    return (f"A waiver given by {mention(e.after.get('waived_by'))} expired: {escape(e.event.subject_key)} is now "
            f"{mention(e.after.get('owner'))}'s to meet or waive again")


def _moved(e: _Event) -> str:
    return f"{e.who} moved {e.key} from {e.stage(e.before)} to {e.stage(e.after)}"


def _moved_by_gate_change(e: _Event) -> str:
    return f"{e.key} moved from {e.stage(e.before)} to {e.stage(e.after)}, as the gate definitions changed"


def _held(e: _Event) -> str:
    return f"{e.who} put {e.key} on hold until {escape(str(e.after.get('revisit_on') or '?'))}"


def _hold_extended(e: _Event) -> str:
    return f"{e.who} extended the hold of {e.key} to {escape(str(e.after.get('revisit_on') or '?'))}"


def _recycled(e: _Event) -> str:
    return f"{e.who} recycled {e.key} from {e.stage(e.before)} to {e.stage(e.after)}"


def _killed(e: _Event) -> str:
    lessons = e.after.get("lessons")
    learned = f" (what we learned: “{mrkdwn(lessons, 300)}”)" if isinstance(lessons, str) and lessons else ""
    return f"{e.who} killed {e.key}{learned}"


def _classified(e: _Event) -> str:
    tier = str(e.after.get("classified_tier") or "?").replace("-", " ")
    before, after = e.before.get("risk_tier"), e.after.get("risk_tier")
    change = f", risk tier {escape(str(before))} → {escape(str(after))}" if before != after else ""
    return (f"{e.who} classified {e.key} *{escape(tier)}* with questionnaire "
            f"v{escape(str(e.after.get('questionnaire_version') or '?'))}{change}")


def _overridden(e: _Event) -> str:
    return (f"{e.who}, as compliance owner, overrode {e.key}'s risk tier: {escape(str(e.before.get('risk_tier')))} "
            f"→ {escape(str(e.after.get('risk_tier')))}")


def _reattestation_opened(e: _Event) -> str:
    roles = [escape(e.catalog.role_name(role)) for role in e.after.get("roles", ())]
    return f"{e.who} asked the {_listed(roles) or 'owners'} of {e.key} to re-attest it in {e.stage(e.after)}"


def _reattestation_completed(e: _Event) -> str:
    no = e.after.get("answered_no") or {}
    answers = f", with {sum(len(items) for items in no.values())} item(s) answered no" if no else ""
    return f"Every owner answered the re-attestation of {e.key} in {e.stage(e.after)}{answers}"


def _flag(name: str, *, raised: bool) -> Callable[[_Event], str]:
    if raised:
        return lambda e: f"{e.who} flagged {e.key} {name}"
    return lambda e: f"{e.key} is no longer flagged {name}"


def _kpi_recorded(e: _Event) -> str:
    unit = str(e.after.get("unit") or "")
    value = _measure(e.after.get("value"), unit)
    corrected = f" (corrected from {_measure(e.before['value'], unit)})" if "value" in e.before else ""
    return (f"{e.who} recorded {mrkdwn(str(e.after.get('kpi') or 'KPI'), 100)} of {e.key} = {value}, measured "
            f"{escape(str(e.after.get('measured_on')))}{corrected}")


def _kpi_defined(e: _Event) -> str:
    unit = str(e.after.get("unit") or "")
    return (f"{e.who} set {e.key}'s KPI {mrkdwn(str(e.after.get('kpi') or 'KPI'), 100)}: "
            f"{_measure(e.after.get('baseline'), unit)} → {_measure(e.after.get('target'), unit)}, "
            f"{escape(str(e.after.get('direction')))} is better")


def _measure(value: Any, unit: str) -> str:
    return escape(format_measure(float(value), unit)) if isinstance(value, int | float) else "?"


def _status(verb: str) -> Callable[[_Event], str]:
    return lambda e: f"{e.who} {verb} {e.key}"


# What the person said, quoted after the sentence: the field of the event's `after` that holds it.
_SAID = {"signoff.approved": "comment", "signoff.waived": "comment", "signoff.changes_requested": "comment",
         "review.cancelled": "reason", "stage.moved_by_admin": "reason", "initiative.paused": "reason",
         "initiative.retired": "reason", "initiative.held": "reason", "initiative.hold_extended": "reason",
         "initiative.recycled": "reason", "initiative.killed": "reason", "stage.moved_by_gate_change": "reason",
         "initiative.risk_tier_overridden": "reason", "initiative.at_risk": "detail",
         "initiative.stale_model": "detail", "initiative.at_risk_cleared": "why",
         "initiative.stale_model_cleared": "why", "kpi.recorded": "note"}
_SENTENCES: dict[str, Callable[[_Event], str]] = {
    "initiative.created": _created,
    "initiative.edited": _edited,
    "owners.changed": _owners,
    "review.opened": _submitted,
    "review.cancelled": _review_closed,
    "signoff.approved": _approved,
    "signoff.waived": _waived,
    "signoff.changes_requested": _changes_requested,
    "gate.passed": _passed,
    "gate.decided": _decided,
    "waiver.expired": _waiver_expired,
    "stage.moved_by_admin": _moved,
    "stage.moved_by_gate_change": _moved_by_gate_change,
    "initiative.paused": _status("paused"),
    "initiative.active": _status("resumed"),
    "initiative.retired": _status("retired"),
    "initiative.held": _held,
    "initiative.hold_extended": _hold_extended,
    "initiative.recycled": _recycled,
    "initiative.killed": _killed,
    "initiative.classified": _classified,
    "initiative.risk_tier_overridden": _overridden,
    "reattestation.opened": _reattestation_opened,
    "reattestation.completed": _reattestation_completed,
    "initiative.at_risk": _flag("At risk", raised=True),
    "initiative.at_risk_cleared": _flag("At risk", raised=False),
    "initiative.stale_model": _flag("Stale model", raised=True),
    "initiative.stale_model_cleared": _flag("Stale model", raised=False),
    "kpi.recorded": _kpi_recorded,
    "kpi.defined": _kpi_defined,
}


def _who(actor: str) -> str:
    """A person as a mention; the bot itself and the command line in words."""
    if actor.startswith(("U", "W")):
        return mention(actor)
    if actor.startswith("cli:"):
        return f"{escape(actor.removeprefix('cli:'))} (command line)"
    return "The bot" if actor == "system" else escape(actor)


def _gate_name(catalog: GateCatalog, gate_id: str) -> str:
    """A gate's name; its id when the newest definitions no longer have it."""
    return next((gate.name for gate in (*catalog.gates, *catalog.reattestations()) if gate.id == gate_id), gate_id)


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}" if names else ""


def _words(action: str) -> str:
    return action.replace(".", " ").replace("_", " ")
