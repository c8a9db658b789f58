"""The gate catalog is parsed once per (workspace, definition version) in a process, and a new version is seen at
once, also when another process saved it; both backends."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.config import load_settings
from bot.services.access.visibility import Audience
from bot.services.gate_editing import service as gate_edits
from bot.services.gates.catalog import GateCatalog
from bot.services.gates.workspaces import ParsedCatalogs, catalog_for
from bot.services.initiatives.service import create_initiative, get_initiative
from bot.services.reviews import service as reviews
from bot.wiring import build_runtime
from tests.support.factories import TEAM, actor

EVERYONE = Audience.workspace(team_id=TEAM)  # who reads: anyone in the test workspace

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}
ADMIN = actor("UADMIN", admin=True)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The version of every catalog parsed from its stored document from now on."""
    seen: list[int] = []
    parse = GateCatalog.from_document.__func__  # type: ignore[attr-defined]

    def counted(cls, document, *, version):  # type: ignore[no-untyped-def]
        seen.append(version)
        return parse(cls, document, version=version)

    monkeypatch.setattr(GateCatalog, "from_document", classmethod(counted))
    return seen


def test_a_decision_parses_the_catalog_at_most_once_per_version(runtime, parses) -> None:
    slack = build_runtime(load_settings(_env_file=None), database_url=str(runtime.engine.url))
    slack.engine = runtime.engine  # one engine, as in a running bot
    with slack.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ"), title="Churn model", owners=OWNERS)
        review = reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative)
        sign_offs = {s.role: s for s in reviews.sign_offs_of(session, review_id=review.id)}
    assert parses == [1]  # created, submitted, six DMs and Homes queued: one parse

    for role, owner in (("business", "UBIZ"), ("data", "UDATA")):
        with slack.transaction() as session:
            items = [item.id for item in reviews.checklist_of(session, sign_offs[role], review)]
            reviews.approve(session, actor=actor(owner), sign_off_id=sign_offs[role].id, ticked=items)
    assert parses == [1]


def test_a_new_version_is_seen_at_once_and_the_old_one_stays_as_it_was(runtime, parses) -> None:
    with runtime.transaction() as session:
        initiative = create_initiative(session, actor=actor("UBIZ"), title="Churn model", owners=OWNERS)
        reviews.submit_for_next_gate(session, actor=actor("UBIZ"), initiative=initiative)
        assert catalog_for(session, team_id=TEAM).stage("idea").name == "Idea"
    with runtime.transaction() as session:
        gate_edits.edit_stage(session, actor=ADMIN, based_on=1, stage_id="idea", name="Ideas", stall_after_days=None)
    with runtime.transaction() as session:
        assert catalog_for(session, team_id=TEAM).stage("idea").name == "Ideas"
        initiative = get_initiative(session, audience=EVERYONE, key="AI-1")
        review = reviews.open_review_of(session, initiative_id=initiative.id)
        assert review is not None and review.definition_version == 1
        assert catalog_for(session, team_id=TEAM, version=1).stage("idea").name == "Idea"  # pinned, unchanged
    with runtime.transaction() as session:
        assert catalog_for(session, team_id=TEAM).stage("idea").name == "Ideas"
    assert parses == [1, 2]


def test_a_version_saved_by_another_process_is_seen_at_once(runtime, tmp_path) -> None:
    with runtime.transaction() as session:
        assert catalog_for(session, team_id=TEAM).stage("idea").name == "Idea"
    script = ("from bot.services.gate_editing import service as edits\n"
              "from bot.runtime import Runtime\n"
              "from bot.config import load_settings\n"
              "from tests.support.factories import actor\n"
              "runtime = Runtime.from_settings(load_settings(_env_file=None))\n"
              "with runtime.transaction() as session:\n"
              "    edits.edit_stage(session, actor=actor('UADMIN', admin=True), based_on=1, stage_id='idea',\n"
              "                     name='Backlog', stall_after_days=None)\n")
    env = {"DATABASE_URL": runtime.settings.database_url, "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    with runtime.transaction() as session:
        assert catalog_for(session, team_id=TEAM).stage("idea").name == "Backlog"


def test_a_version_rolled_back_is_never_served_under_its_number(runtime) -> None:
    with pytest.raises(RuntimeError), runtime.transaction() as session:
        gate_edits.edit_stage(session, actor=ADMIN, based_on=1, stage_id="idea", name="Abandoned",
                              stall_after_days=None)
        assert catalog_for(session, team_id=TEAM).stage("idea").name == "Abandoned"
        raise RuntimeError("the request failed after the edit")
    with runtime.transaction() as session:
        gate_edits.edit_stage(session, actor=ADMIN, based_on=1, stage_id="idea", name="Ideas", stall_after_days=None)
    with runtime.transaction() as session:
        assert catalog_for(session, team_id=TEAM, version=2).stage("idea").name == "Ideas"


def test_the_cache_keeps_the_most_recently_used_versions_only() -> None:
    def catalog(version: int) -> GateCatalog:
        return GateCatalog(version=version, roles={}, stages=(), gates=())

    kept = ParsedCatalogs(size=2)
    kept.put("T1", catalog(1))
    kept.put("T1", catalog(2))
    assert kept.get("T1", 1) is not None  # now the most recently used
    kept.put("T2", catalog(1))
    assert len(kept) == 2
    assert kept.get("T1", 2) is None and kept.get("T1", 1) is not None and kept.get("T2", 1) is not None
