"""The default gate template encodes the missing layer of enterprise AI, within Slack's limits."""

from __future__ import annotations

from itertools import pairwise

from bot.services.gates.catalog import GateCatalog, default_document
from bot.services.validation import RISK_TIERS

SLACK_OPTION_TEXT_LIMIT = 75


def _catalog() -> GateCatalog:
    return GateCatalog.from_document(default_document(), version=1)


def test_default_stages_lead_from_idea_to_scaled_through_consecutive_gates():
    catalog = _catalog()
    assert [s.name for s in catalog.stages] == ["Idea", "Pilot", "Production", "Scaled"]
    stage_ids = [s.id for s in catalog.stages]
    assert [(g.from_stage, g.to_stage) for g in catalog.gates] == list(pairwise(stage_ids))
    assert catalog.stage("pilot").stall_after_days == 90


def test_high_risk_adds_compliance_to_every_gate():
    for gate in _catalog().gates:
        assert set(gate.roles_for("low")) == {"business", "data", "engineering"}
        assert set(gate.roles_for("high")) == set(gate.roles_for("medium")) | {"compliance"}
        assert set(gate.required_roles) == set(RISK_TIERS)


def test_every_required_role_has_a_checklist_and_labels_fit_slack_options():
    for gate in _catalog().gates:
        for role in gate.roles_for("high"):
            items = gate.checklist_for(role)
            assert items, (gate.id, role)
            assert len({i.id for i in items}) == len(items)
            for item in items:
                assert len(item.label) <= SLACK_OPTION_TEXT_LIMIT, item.label


def test_template_covers_business_data_mlops_and_governance():
    labels = " ".join(i.label.lower() for g in _catalog().gates for items in g.checklist.values() for i in items)
    for must_mention in ("baseline", "target", "business owner", "governance", "quality", "pipeline", "fresh",
                         "versioned", "ci/cd", "monitoring", "retraining", "rollback", "latency", "failover",
                         "risk assessment", "value measured"):
        assert must_mention in labels, must_mention


def test_condition_fields_default_so_existing_files_stay_valid_and_are_checked_when_given():
    from bot.services.gates.document import problems_in

    document = default_document()
    catalog = GateCatalog.from_document(document, version=1)
    assert {(gate.condition_days, gate.conditions_block_next_gate) for gate in catalog.gates} == {(10, False)}
    document["gates"][0] |= {"condition_days": 3, "conditions_block_next_gate": True}
    assert problems_in(document) == []
    first = GateCatalog.from_document(document, version=2).gates[0]
    assert (first.condition_days, first.conditions_block_next_gate) == (3, True)
    document["gates"][0] |= {"condition_days": 0, "conditions_block_next_gate": "yes"}
    assert [problem.message for problem in problems_in(document)] == [
        "gates[0].condition_days: 0 is out of range; use 1 to 250",
        "gates[0].conditions_block_next_gate: expected true or false, got 'yes'"]
