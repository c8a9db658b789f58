"""The architecture as the build keeps it: the import contracts in pyproject.toml, migrations that stand alone, and
domain tests that drive the domain."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

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
SURFACE_FIXTURES = {"slack_app", "slack_emulator", "slack"}  # the served app, the emulator, tests/listeners' driver


def test_every_import_contract_is_kept() -> None:
    """Layers, one-way domains, no Slack in domain rules, no cycles (pyproject.toml, docs/architecture.md)."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint_imports), "--no-cache", "--no-logo"], cwd=REPO, capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


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
