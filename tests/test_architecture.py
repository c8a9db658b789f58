"""The architecture as the build keeps it: the import contracts in pyproject.toml, domains entered only through
their service and scheduled modules, migrations that stand alone, and domain tests that drive the domain."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]
MIGRATIONS = REPO / "storage" / "migrations" / "versions"
DOMAIN_TESTS = REPO / "tests" / "services"

# What drives Slack or a surface: the listeners and the HTTP app (signed requests), the CLI, the scheduled jobs, the
# Slack emulator, and the test packages and fixtures that serve them. A test that needs one of these belongs in the
# tests/ folder that mirrors that code (tests/listeners/, tests/cli/, tests/jobs/, tests/adapters/ ...).
SURFACES = ("bot.listeners", "bot.app", "bot.web", "bot.edge", "bot.edge_worker", "bot.cli", "bot.__main__",
            "bot.jobs", "bot.playground", "slack_emulator", "tests.support.slack_app", "tests.support.serving",
            "tests.listeners", "tests.cli", "tests.jobs", "tests.adapters", "tests.app", "tests.security")
# The emulator's Block Kit checks are pure functions: a domain test may check that what it built is valid Block Kit.
PURE_EMULATOR_NAMES = {"validate_blocks", "validate_view"}
# The served app, the emulator, tests/listeners' driver, and tests/cli's `initiative-bot` runner.
SURFACE_FIXTURES = {"slack_app", "slack_emulator", "slack", "cli"}

SERVICES = "bot.services"
# What a domain offers the rest of the bot; every other module of the domain is its internals.
PUBLIC_ROLES = ("service", "scheduled")
# Besides: import-free vocabularies the command line names in its --help, read without importing the service and
# so SQL (tests/cli/test_startup.py). Each must stay free of imports.
VOCABULARIES = ("bot.services.audit.export_formats", "bot.services.webhooks.event_types")


def test_every_import_contract_is_kept() -> None:
    """Layers, one-way domains, no Slack in domain rules, no cycles (pyproject.toml, docs/architecture.md)."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint_imports), "--no-cache", "--no-logo"], cwd=REPO, capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def internals_imported_from_outside(graph: grimp.ImportGraph) -> list[str]:
    """Each import of a domain's internals (bot.services.<domain>.<anything but service, scheduled or one of the
    VOCABULARIES>) by a module outside that domain, as "importer:line imports imported". The kernel's modules
    (events.py, ...) are no domain."""
    offenders = []
    for domain in sorted(graph.find_children(SERVICES)):
        public = {domain, *(f"{domain}.{role}" for role in PUBLIC_ROLES), *VOCABULARIES}
        for internal in sorted(graph.find_descendants(domain) - public):
            for importer in sorted(graph.find_modules_that_directly_import(internal)):
                if importer != domain and not importer.startswith(f"{domain}."):
                    lines = sorted({detail["line_number"] for detail in
                                    graph.get_import_details(importer=importer, imported=internal)})
                    offenders += [f"{importer}:{line} imports {internal}" for line in lines]
    return offenders


def test_other_packages_use_a_domain_only_through_its_service_or_scheduled() -> None:
    """bot/services/<domain>/service.py is what listeners, cli, adapters, presenters, views and other domains may
    call, scheduled.py what jobs and adapters run; the rest (rules, queries, formats) is the domain's own. Tests,
    outside the graph, may reach the internals."""
    graph = grimp.build_graph("bot", cache_dir=None)
    assert internals_imported_from_outside(graph) == []
    assert {vocabulary: graph.find_modules_directly_imported_by(vocabulary) for vocabulary in VOCABULARIES} == {
        vocabulary: set() for vocabulary in VOCABULARIES}


def test_an_import_of_a_domains_internals_is_caught() -> None:
    """The rule above can fail: an import of another domain's internals is reported, one through its service or
    scheduled module, or from inside the domain, is not."""
    graph = grimp.ImportGraph()
    for module in ("bot", SERVICES, f"{SERVICES}.errors", "bot.listeners", "bot.listeners.kpis", "bot.jobs",
                   "bot.jobs.kpis", f"{SERVICES}.kpis", f"{SERVICES}.kpis.service", f"{SERVICES}.kpis.scheduled",
                   f"{SERVICES}.kpis.actuals"):
        graph.add_module(module)
    for importer, imported, line in [
        ("bot.listeners.kpis", f"{SERVICES}.kpis.actuals", 7),  # the one offence
        ("bot.listeners.kpis", f"{SERVICES}.kpis.service", 8),
        ("bot.listeners.kpis", f"{SERVICES}.errors", 9),
        ("bot.jobs.kpis", f"{SERVICES}.kpis.scheduled", 3),
        (f"{SERVICES}.kpis.service", f"{SERVICES}.kpis.actuals", 5),
    ]:
        graph.add_import(importer=importer, imported=imported, line_number=line, line_contents=f"import {imported}")
    assert internals_imported_from_outside(graph) == [f"bot.listeners.kpis:7 imports {SERVICES}.kpis.actuals"]


def test_no_migration_imports_application_code() -> None:
    """A migration freezes what it needs: the bot's code changes later, and an old migration must still run."""
    offenders = []
    for path in sorted(MIGRATIONS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}:{node.lineno} imports {name}" for name in names
                          if name == "bot" or name.startswith("bot.")]
    assert offenders == []


def _surfaces_used(path: Path) -> list[str]:
    """Where a test module (or its helper) reaches for a surface: imports, at any depth, and surface fixtures."""
    def surface(module: str) -> bool:
        return any(module == name or module.startswith(name + ".") for name in SURFACES)

    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {alias.name}" for alias in node.names if surface(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and surface(node.module or ""):
            names = {alias.name for alias in node.names}
            if not (node.module == "slack_emulator" and names <= PURE_EMULATOR_NAMES):
                found.append(f"{node.lineno}: from {node.module} import {', '.join(sorted(names))}")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found += [f"{node.lineno}: {node.name} uses the {arg.arg} fixture" for arg in node.args.args
                      if arg.arg in SURFACE_FIXTURES]
    return found


def test_domain_tests_drive_the_domain_not_slack() -> None:
    """tests/ mirrors the code (docs/architecture.md): a test under tests/services/ calls the domain's functions and
    reads the database. Signed requests, the CLI, the jobs and the Slack emulator belong to the tests of the code
    that handles them. (Domain tests may still render what the domain produced with the pure builders of bot/views
    and the payloads of bot/adapters, to check what a person reads; calling Slack from an adapter needs the
    emulator, which is out of bounds here.)"""
    offenders = [f"{path.relative_to(REPO)}:{where}" for path in sorted(DOMAIN_TESTS.rglob("*.py"))
                 for where in _surfaces_used(path)]
    assert offenders == []
