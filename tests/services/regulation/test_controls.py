"""The shipped controls catalog and the regulated gate template: their structure, not the law (the mapping is
labelled not reviewed by counsel)."""

from __future__ import annotations

import pytest

from bot.services.gates.catalog import GateCatalog
from bot.services.gates.yaml_file import InvalidGatesFile, parse_gates_yaml
from bot.services.regulation import controls

HIGH_RISK_ARTICLES = (9, 10, 11, 12, 13, 14, 15, 17, 26, 27, 72)


@pytest.fixture(scope="module")
def catalog() -> controls.ControlsCatalog:
    return controls.ControlsCatalog.from_document(controls.shipped_document(), version=1)


def test_the_shipped_catalog_is_labelled_and_names_a_source_for_each_framework(catalog):
    assert catalog.reviewed_by_counsel is False
    assert set(catalog.frameworks) == {"EU-AI-ACT", "NIST-AI-RMF", "ISO-42001"}
    assert all(source.startswith("https://") for _, source in catalog.frameworks.values())
    assert {control.framework for control in catalog.controls} == set(catalog.frameworks)
    assert all(control.applies_from for control in catalog.controls if control.framework == "EU-AI-ACT")


def test_the_regulated_template_maps_each_high_risk_article_to_nist_and_iso(catalog):
    document = parse_gates_yaml(controls.REGULATED_GATES.read_text(encoding="utf-8"), filename="t",
                                also=lambda d: controls.unknown_controls(d, catalog))
    gates = GateCatalog.from_document(document, version=1).gates
    items = [item for gate in gates for role_items in gate.checklist.values() for item in role_items]

    for article in HIGH_RISK_ARTICLES:  # each requirement in one item, which also names NIST or ISO controls
        [item] = [i for i in items if f"EU-AI-ACT:Art.{article}" in i.controls]
        assert {ref.partition(":")[0] for ref in item.controls} - {"EU-AI-ACT"}, article
    assert {ref.partition(":")[0] for item in items for ref in item.controls} == {"EU-AI-ACT", "NIST-AI-RMF",
                                                                                   "ISO-42001"}

def test_a_catalog_naming_an_unlisted_framework_is_refused_at_its_line():
    text = controls.SHIPPED_FILE.read_text(encoding="utf-8").replace('ref: "ISO-42001:A.7.4"', 'ref: "ISO-27001:A.7.4"')

    with pytest.raises(InvalidGatesFile) as refused:
        controls.parse_controls_yaml(text, filename="c.yml")

    line = next(n for n, row in enumerate(text.splitlines(), 1) if "ISO-27001" in row)
    assert refused.value.lines == [f"c.yml:{line}: 'ISO-27001:A.7.4' names framework 'ISO-27001', which is not "
                                   "under frameworks (EU-AI-ACT, NIST-AI-RMF, ISO-42001)"]


def test_editing_a_checklist_in_slack_keeps_the_controls_of_the_items_it_keeps(runtime, catalog):
    from bot.services.gate_editing import service as edits
    from bot.services.gate_editing.service import save_definition
    from bot.services.gates.workspaces import catalog_for
    from tests.support.factories import TEAM, actor

    admin = actor("UADMIN", admin=True)
    document = parse_gates_yaml(controls.REGULATED_GATES.read_text(encoding="utf-8"), filename="t")
    with runtime.transaction() as session:
        save_definition(session, actor=admin, document=document, based_on=1)
        edits.set_checklists(session, actor=admin, based_on=2, gate_id="idea-to-pilot", labels_by_role={
            "compliance": ["Risk management system set up for this system's life cycle", "DPIA done"]})
        items = catalog_for(session, team_id=TEAM).gate("idea-to-pilot").checklist_for("compliance")
    assert [(i.id, i.controls[:1]) for i in items] == [("risk-management", ("EU-AI-ACT:Art.9",)), ("dpia-done", ())]
