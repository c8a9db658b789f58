"""The gate definitions: the gates domain's public face.

Internals: `catalog` (the typed, read-only view of one definition version), `document` (the definition as a
plain document: its schema, problems and differences), `workspaces` (each workspace's current definition) and
`yaml_file` (gates-as-code YAML)."""

from bot.services.gates.catalog import REATTEST_PREFIX, ChecklistItem, Gate, GateCatalog, Stage
from bot.services.gates.document import (
    CONTROL_REFERENCE,
    LABEL_MAX,
    MAX_CHECKLIST_ITEMS_PER_ROLE,
    Change,
    Path_,
    Problem,
    describe,
    differences,
    problems_in,
    schema_problems,
)
from bot.services.gates.workspaces import (
    SYSTEM_ACTOR,
    catalog_for,
    definition_row,
    ensure_workspace,
    latest_definition,
    workspace_ids,
)
from bot.services.gates.yaml_file import InvalidGatesFile, dump_gates_yaml, parse_gates_yaml, parse_yaml_document

__all__ = [
    "CONTROL_REFERENCE", "LABEL_MAX", "MAX_CHECKLIST_ITEMS_PER_ROLE", "REATTEST_PREFIX", "SYSTEM_ACTOR", "Change",
    "ChecklistItem", "Gate", "GateCatalog", "InvalidGatesFile", "Path_", "Problem", "Stage", "catalog_for",
    "definition_row", "describe", "differences", "dump_gates_yaml", "ensure_workspace", "latest_definition",
    "parse_gates_yaml", "parse_yaml_document", "problems_in", "schema_problems", "workspace_ids"
]
