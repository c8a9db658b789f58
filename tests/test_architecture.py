"""The architecture as the build keeps it: the import contracts in pyproject.toml, and migrations that stand alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIGRATIONS = REPO / "storage" / "migrations" / "versions"


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
