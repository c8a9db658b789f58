"""A large, consistent portfolio inserted directly (executemany), for the Block Kit limits test and the bench.

Every row is what the services would have written: each stage change has its transition and its audit event
(a passed gate also has its review, three approved sign-offs and their audit events); pauses and retirements
are audited; some initiatives wait on open reviews. Deterministic for a given seed. Audit events get their
`seq` after the workspace's chain head but no real hashes (the digest never reads them; `initiative-bot audit
verify` would rightly reject this data).
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from bot.services.audit.chain import chain_head
from storage.models import AuditEvent, GateReview, Initiative, SignOff, StageTransition

STAGES = ("idea", "pilot", "production", "scaled")
GATES = ("idea-to-pilot", "pilot-to-production", "production-to-scaled")
ROLES = ("business", "data", "engineering")


def insert_portfolio(session: Session, *, team_id: str, count: int, as_of: datetime, seed: int = 7) -> int:
    """Insert `count` initiatives with their histories; returns how many audit + stage events were written."""
    rng = random.Random(seed)
    rows: dict[str, list[dict[str, Any]]] = {"initiative": [], "transition": [], "audit": [], "review": [],
                                             "sign_off": []}
    ids = {"audit": 1_000_000, "review": 1_000_000, "sign_off": 1_000_000}
    seq, _ = chain_head(session.connection(), team_id=team_id)
    start_number = 1_000_000

    def audit(initiative_id: int, number: int, at: datetime, action: str, after: dict[str, Any]) -> int:
        ids["audit"] += 1
        rows["audit"].append({"id": ids["audit"], "seq": seq + ids["audit"] - 1_000_000, "prev_hash": "-" * 64,
                              "hash": "-" * 64, "team_id": team_id, "at": at, "actor": "UBULK", "action": action,
                              "subject_type": "initiative", "subject_key": f"AI-{number}",
                              "initiative_id": initiative_id, "after": after})
        return ids["audit"]

    for index in range(count):
        initiative_id, number = 1_000_000 + index, start_number + index
        at = as_of - timedelta(days=rng.uniform(5, 720))
        created, stage, status, entered, transition_id = at, "idea", "active", at, str(uuid.uuid4())
        cause = audit(initiative_id, number, at, "initiative.created", {"stage": "idea"})
        rows["transition"].append({"id": transition_id, "team_id": team_id, "initiative_id": initiative_id,
                                   "from_stage": None, "to_stage": "idea", "at": at, "reason": "created",
                                   "actor": "UBULK", "audit_event_id": cause, "review_id": None})
        for gate_index in range(rng.choice((0, 1, 1, 2, 2, 2, 3, 3))):
            opened = at + timedelta(days=rng.uniform(3, 90))
            decided = opened + timedelta(days=rng.uniform(0.2, 9))
            if decided >= as_of:
                break
            ids["review"] += 1
            rows["review"].append({"id": ids["review"], "team_id": team_id, "initiative_id": initiative_id,
                                   "gate_slug": GATES[gate_index], "from_stage": STAGES[gate_index],
                                   "to_stage": STAGES[gate_index + 1], "definition_version": 1,
                                   "sla_business_days": 5, "state": "passed", "opened_by": "UBULK",
                                   "opened_at": opened, "closed_at": decided, "close_reason": "approved"})
            audit(initiative_id, number, opened, "review.opened", {"gate": GATES[gate_index]})
            for role in ROLES:
                _sign_off(rows, ids, team_id, role, "approved", opened, decided)
                audit(initiative_id, number, decided, "signoff.approved", {"role": role})
            cause = audit(initiative_id, number, decided, "gate.passed", {"stage": STAGES[gate_index + 1]})
            transition_id = str(uuid.uuid4())
            rows["transition"].append({"id": transition_id, "team_id": team_id, "initiative_id": initiative_id,
                                       "from_stage": stage, "to_stage": STAGES[gate_index + 1], "at": decided,
                                       "reason": f"passed gate {GATES[gate_index]}", "actor": "UBULK",
                                       "audit_event_id": cause, "review_id": None})
            stage, entered, at = STAGES[gate_index + 1], decided, decided
        roll = rng.random()
        if roll < 0.08 and at < as_of - timedelta(days=1):
            status = "paused"
            audit(initiative_id, number, at + (as_of - at) * rng.random(), "initiative.paused",
                  {"status": "paused", "reason": "waiting for budget"})
        elif roll < 0.14 and at < as_of - timedelta(days=1):
            status = "retired"
            audit(initiative_id, number, at + (as_of - at) * rng.random(), "initiative.retired",
                  {"status": "retired", "reason": "merged into another initiative"})
        elif roll < 0.4 and stage != "scaled":  # waiting on an open review
            opened = as_of - timedelta(days=rng.uniform(0.5, 25))
            if opened > at:
                ids["review"] += 1
                gate_index = STAGES.index(stage)
                rows["review"].append({"id": ids["review"], "team_id": team_id, "initiative_id": initiative_id,
                                       "gate_slug": GATES[gate_index], "from_stage": stage,
                                       "to_stage": STAGES[gate_index + 1], "definition_version": 1,
                                       "sla_business_days": 5, "state": "open", "opened_by": "UBULK",
                                       "opened_at": opened, "closed_at": None, "close_reason": None})
                audit(initiative_id, number, opened, "review.opened", {"gate": GATES[gate_index]})
                for role in ROLES:
                    _sign_off(rows, ids, team_id, role, "pending", opened, None)
        rows["initiative"].append({
            "id": initiative_id, "team_id": team_id, "number": number, "title": f"Bulk initiative {number}",
            "description": "", "problem": "",
            "risk_tier": "medium", "status": status,
            "retired_reason": "merged into another initiative" if status == "retired" else None,
            "stage": stage, "stage_entered_at": entered, "current_transition_id": transition_id,
            "created_by": "UBULK", "created_at": created, "updated_at": entered, "channel_id": None,
            "tags": ["bulk"], "business_unit": "Bulk"})
    for table, key in ((Initiative, "initiative"), (AuditEvent, "audit"), (StageTransition, "transition"),
                       (GateReview, "review"), (SignOff, "sign_off")):
        for chunk in range(0, len(rows[key]), 5000):
            session.execute(insert(table), rows[key][chunk:chunk + 5000])
    session.flush()
    return len(rows["audit"]) + len(rows["transition"])


def _sign_off(rows: dict[str, list[dict[str, Any]]], ids: dict[str, int], team_id: str, role: str, state: str,
              requested: datetime, decided: datetime | None) -> None:
    ids["sign_off"] += 1
    rows["sign_off"].append({"id": ids["sign_off"], "team_id": team_id, "review_id": ids["review"], "role": role,
                             "assignee": f"U{role.upper()}{ids['sign_off'] % 40}", "state": state,
                             "requested_at": requested, "decided_by": None if decided is None else "UBULK",
                             "decided_at": decided, "ticked": [], "waivers": {}, "evidence_links": []})
