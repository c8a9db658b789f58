"""A fresh install: the workspace's very first request already finds its default gates."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.config import load_settings
from bot.runtime import Runtime
from slack_emulator import SlackEmulator
from storage.models import GateDefinitionVersion, Workspace
from tests.support.slack_app import serve_in_thread


def test_initiative_gates_as_the_very_first_request_shows_the_default_gates(
    database_url: str, slack_emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    runtime = Runtime.from_settings(load_settings(_env_file=None))
    with runtime.read() as session:
        assert session.exec(select(Workspace)).all() == []  # nothing has reached this database yet

    with serve_in_thread(runtime, slack_emulator) as bot:
        answer = bot.ask("gates")

    assert answer["text"] == "Stages: Idea → Pilot → Production → Scaled"
    shown = str(answer["blocks"])
    assert all(gate in shown for gate in ("Pilot approval", "Production readiness", "Scale-out")), shown
    assert "no gate definitions" not in shown
    with runtime.read() as session:
        assert [w.team_id for w in session.exec(select(Workspace))] == [slack_emulator.team_id]
        assert [(d.version, d.created_by) for d in session.exec(select(GateDefinitionVersion))] == [(1, "system")]
    runtime.engine.dispose()
