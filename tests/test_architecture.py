"""The architecture as the build keeps it: the import contracts in pyproject.toml, domains entered only through
their service and scheduled modules, and migrations that stand alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]
MIGRATIONS = REPO / "storage" / "migrations" / "versions"
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
