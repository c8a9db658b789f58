"""Gates as code: the YAML round trip, and every validation problem reported with its file and line."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from bot.services.gates.catalog import default_document
from bot.services.gates.document import MAX_CHECKLIST_ITEMS_PER_ROLE, SCHEMA_FILE
from bot.services.gates.yaml_file import InvalidGatesFile, dump_gates_yaml, parse_gates_yaml

EXPORTED = dump_gates_yaml(default_document(), header="exported for a test")


def _problems(text: str) -> list[str]:
    with pytest.raises(InvalidGatesFile) as caught:
        parse_gates_yaml(text, filename="gates.yml")
    return caught.value.lines


def _edit(old: str, new: str, *, nth: int = 1, text: str = EXPORTED) -> tuple[str, int]:
    """Replace the nth occurrence of `old`; return the new text and the (1-based) line where it was."""
    start = -1
    for _ in range(nth):
        start = text.index(old, start + 1)
    line = text.count("\n", 0, start) + 1
    return text[:start] + new + text[start + len(old):], line


def test_export_then_parse_gives_back_the_same_document():
    assert parse_gates_yaml(EXPORTED, filename="gates.yml") == default_document()
    assert EXPORTED.startswith("# exported for a test\n")


def test_the_shipped_schema_is_a_valid_json_schema_that_the_default_template_meets():
    schema = json.loads(SCHEMA_FILE.read_text())
    Draft202012Validator.check_schema(schema)
    assert list(Draft202012Validator(schema).iter_errors(default_document())) == []


def test_unknown_role_three_levels_deep_names_its_line():
    high = "high: [business, data, engineering, compliance]"
    text, line = _edit(high, "high:\n      - business\n      - legal", nth=2)
    assert _problems(text) == [
        f"gates.yml:{line + 2}: gate 'pilot-to-production' requires role 'legal', which is not a known role"
    ]


def test_checklist_label_over_slacks_75_characters():
    long_label = "Pilot value measured against the KPI baseline with a written sign-off by finance"
    text, line = _edit("label: Pilot value measured against the KPI baseline", f"label: {long_label}")
    assert _problems(text) == [
        f"gates.yml:{line}: gates[1].checklist.business[0].label: '{long_label[:39]}…' is {len(long_label)} "
        f"characters; Slack shows at most 75"
    ]


def test_a_role_with_more_checklist_items_than_the_approve_modal_holds():
    items = "".join(f"    - {{id: item-{n}, label: Item {n}}}\n" for n in range(MAX_CHECKLIST_ITEMS_PER_ROLE + 1))
    anchor = "    data:\n    - {id: production-pipeline"
    text, line = _edit(anchor, "    data:\n" + items + anchor.removeprefix("    data:\n"))
    assert _problems(text) == [
        f"gates.yml:{line}: gate 'pilot-to-production' gives role 'data' {MAX_CHECKLIST_ITEMS_PER_ROLE + 4} "
        f"checklist items; at most {MAX_CHECKLIST_ITEMS_PER_ROLE} fit in the Approve modal"
    ]


def test_gate_to_an_unknown_stage():
    text, line = _edit("to: production", "to: prod")
    problems = _problems(text)
    assert f"gates.yml:{line}: gate 'pilot-to-production' leads to stage 'prod', which is not a known stage" in problems


def test_gate_that_skips_a_stage():
    text, line = _edit("to: pilot", "to: production")
    assert _problems(text)[0] == (
        f"gates.yml:{line - 3}: gate 'idea-to-pilot' goes from 'idea' to 'production', but a gate must link a "
        f"stage to the next one (idea -> pilot)"
    )


def test_a_stage_without_a_gate_to_the_next():
    start = EXPORTED.index("- id: production-to-scaled")
    text = EXPORTED[:start]
    line = EXPORTED.count("\n", 0, EXPORTED.index("- id: production\n")) + 1
    assert _problems(text) == [
        f"gates.yml:{line}: no gate leads from stage 'production' to 'scaled'; every stage but the last needs one"
    ]


def test_two_gates_leaving_one_stage():
    text, _ = _edit("from: pilot", "from: idea")
    text, line = _edit("to: production", "to: pilot", text=text)
    assert f"gates.yml:{line - 3}: gates 'idea-to-pilot' and 'pilot-to-production' both leave stage 'idea'; keep one" \
        in _problems(text)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("{id: pilot, name: Pilot,", "{id: idea, name: Pilot,",
     "stage id 'idea' is used twice; ids must be unique"),
    ("- id: pilot-to-production", "- id: idea-to-pilot",
     "gate id 'idea-to-pilot' is used twice; ids must be unique"),
    ("{id: target-met,", "{id: value-measured,",
     "checklist item of gate 'pilot-to-production', role 'business', id 'value-measured' is used twice; ids must "
     "be unique"),
])
def test_duplicate_ids(old, new, message):
    text, line = _edit(old, new)
    assert f"gates.yml:{line}: {message}" in _problems(text)


def test_duplicate_key_in_a_mapping():
    text, line = _edit("  data: {name: Data owner}\n", "  data: {name: Data owner}\n  data: {name: Data team}\n")
    assert _problems(text) == [f"gates.yml:{line + 1}: 'data' appears twice in the same mapping; keep one"]


def test_required_role_that_never_signs_off():
    text, line = _edit("low: [business, data, engineering]", "low: [business, sponsor]")
    assert _problems(text) == [
        f"gates.yml:{line}: gate 'idea-to-pilot' requires role 'sponsor', which does not sign off (signs_off: false)"
    ]


def test_checklist_for_an_unknown_role_points_at_the_role():
    text, line = _edit("    compliance:\n    - {id: periodic-review", "    legal:\n    - {id: periodic-review")
    assert _problems(text) == [
        f"gates.yml:{line}: gate 'production-to-scaled' has a checklist for role 'legal', which is not a known role"
    ]


def test_misspelt_field_points_at_the_key():
    text, line = _edit("sla_business_days: 10", "sla_busines_days: 10")
    assert _problems(text) == [
        f"gates.yml:{line}: gates[2].sla_busines_days: unknown field 'sla_busines_days'; expected one of checklist, "
        f"condition_days, conditions_block_next_gate, from, id, name, nudge, required_roles, sla_business_days, to, "
        f"waiver_days"
    ]


@pytest.mark.parametrize(("old", "new", "message"), [
    ("sla_business_days: 10", "sla_business_days: ten",
     "gates[2].sla_business_days: expected a whole number, got 'ten'"),
    ("sla_business_days: 10", "sla_business_days: 0", "gates[2].sla_business_days: 0 is out of range; use 1 to 60"),
    ("- {id: idea, name: Idea}", "- {id: Idea!, name: Idea}",
     "stages[0].id: 'Idea!' is not an id; use lowercase letters, digits and dashes, like 'pilot-exit'"),
    ("holidays: []", "holidays: [2026-12-25, 2026-02-30]", "holiday '2026-02-30' is not a real date"),
    ("holidays: []", "holidays: [next friday]", "holidays[0]: 'next friday' is not a date; write dates as YYYY-MM-DD"),
    ("format: 1", "format: 2", "format: must be 1"),
])
def test_bad_values(old, new, message):
    text, line = _edit(old, new)
    assert _problems(text) == [f"gates.yml:{line}: {message}"]


def test_missing_field_points_at_its_mapping():
    text, line = _edit("  name: Scale-out\n", "")
    assert _problems(text) == [f"gates.yml:{line - 1}: gates[2]: the field 'name' is missing"]


def test_yaml_syntax_error_has_file_and_line():
    text, line = _edit("  to: scaled\n", "  to: [scaled\n")
    problems = _problems(text)
    assert len(problems) == 1 and problems[0].startswith("gates.yml:")
    assert problems[0].split(":")[1] == str(line + 1)
    assert "YAML syntax error" in problems[0]


def test_bad_indentation_is_a_syntax_error_on_its_line():
    text, line = _edit("  name: Scale-out\n", "  name: Scale-out\n   from: production\n")
    assert _problems(text)[0].startswith(f"gates.yml:{line + 1}: YAML syntax error")


def test_empty_file():
    assert _problems("# nothing here\n") == [
        "gates.yml:1: the file is empty; `initiative-bot gates export` writes one to start from"
    ]


def test_every_problem_is_reported_in_line_order():
    text, first = _edit("to: production", "to: prod")
    text, second = _edit("{id: pilot, name: Pilot,", "{id: pilot, name: '',", text=text)
    text, third = _edit("low: [business, data, engineering]", "low: [legal]", text=text)
    problems = _problems(text)
    assert [p.split(":")[1] for p in problems] == [str(second)]  # schema problems first; the rest after a fix
    text = text.replace("name: ''", "name: Pilot")
    assert [int(p.split(":")[1]) for p in _problems(text)] == sorted([first, third])
