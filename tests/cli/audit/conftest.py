"""The audit CLI as a user runs it."""

from __future__ import annotations

import pytest

from bot.cli import main


@pytest.fixture
def cli(capsys, runtime):  # type: ignore[no-untyped-def]
    """Run `initiative-bot ...` against the test database; returns (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
