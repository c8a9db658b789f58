"""`initiative-bot gates export | import | diff` against a real database (both backends)."""

from __future__ import annotations

from sqlmodel import col, select

from bot.cli import main
from bot.services.access.visibility import Audience
from bot.services.gates.workspaces import catalog_for
from bot.services.initiatives.service import create_initiative, get_initiative, history
from storage.models import AuditEvent, GateDefinitionVersion
from tests.support.factories import TEAM, actor

EVERYONE = Audience.workspace(team_id=TEAM)  # who reads: anyone in the test workspace


def _versions(runtime) -> list[int]:
    with runtime.transaction() as session:
        return list(session.exec(select(GateDefinitionVersion.version).order_by(col(GateDefinitionVersion.version))))


def test_export_then_import_changes_nothing(runtime, tmp_path, capsys):
    file = tmp_path / "gates.yml"
    assert main(["gates", "export", str(file)]) == 0
    assert main(["gates", "import", str(file)]) == 0
    assert capsys.readouterr().out == f"No changes: {file} matches version 1.\n"
    assert _versions(runtime) == [1]


def test_import_saves_a_new_version_and_diff_shows_it(runtime, tmp_path, capsys):
    file = tmp_path / "gates.yml"
    main(["gates", "export", str(file)])
    file.write_text(file.read_text().replace("sla_business_days: 10", "sla_business_days: 12"))
    capsys.readouterr()

    assert main(["gates", "import", str(file), "--dry-run"]) == 0
    assert capsys.readouterr().out == (
        "~ gates.production-to-scaled.sla_business_days: 10 -> 12\n"
        f"Dry run: {file} is valid; 1 change(s) would make version 2. Nothing was applied.\n")
    assert _versions(runtime) == [1]

    assert main(["gates", "import", str(file)]) == 0
    assert capsys.readouterr().out.endswith("Saved version 2 (was 1).\n")
    assert _versions(runtime) == [1, 2]
    with runtime.transaction() as session:
        assert catalog_for(session, team_id=TEAM).gate("production-to-scaled").sla_business_days == 12
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "gates.changed")).one()
        assert audit.actor.startswith("cli:")
        assert audit.before["gates.production-to-scaled.sla_business_days"] == 10

    assert main(["gates", "diff"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("From version 1 (system, ") and "to version 2 (cli:" in out[0]
    assert out[1:] == ["~ gates.production-to-scaled.sla_business_days: 10 -> 12"]
    assert main(["gates", "diff", "2", "2"]) == 0
    assert capsys.readouterr().out == "No differences between version 2 and version 2.\n"
    assert main(["gates", "import", str(file)]) == 0  # the same file again: nothing new
    assert _versions(runtime) == [1, 2]


def test_import_with_problems_applies_nothing_and_lists_each_line(runtime, tmp_path, capsys):
    file = tmp_path / "gates.yml"
    main(["gates", "export", str(file)])
    text = file.read_text().replace("high: [business, data, engineering, compliance]",
                                    "high: [business, data, legal]", 1)
    text = text.replace("sla_business_days: 10", "sla_business_days: 11")
    file.write_text(text)
    line = text.splitlines().index("    high: [business, data, legal]") + 1
    capsys.readouterr()
    assert main(["gates", "import", str(file)]) == 1
    assert capsys.readouterr().err == (
        f"{file}:{line}: gate 'idea-to-pilot' requires role 'legal', which is not a known role\n"
        f"initiative-bot: {file} has 1 problem(s); nothing was applied\n")
    assert _versions(runtime) == [1]


def test_import_removing_an_occupied_stage_needs_move(runtime, tmp_path, capsys):
    with runtime.transaction() as session:
        key = create_initiative(session, actor=actor("UBIZ"), title="Doc search").key
    file = tmp_path / "gates.yml"
    main(["gates", "export", str(file)])
    text = file.read_text().replace("- {id: idea, name: Idea}\n", "")
    start = text.index("- id: idea-to-pilot")
    file.write_text(text[:start] + text[text.index("- id: pilot-to-production"):])
    capsys.readouterr()

    assert main(["gates", "import", str(file)]) == 1
    assert capsys.readouterr().err == ("initiative-bot: Stage 'idea' still holds AI-1; name a stage to move them to, "
                                       "or move them first.\n")
    assert _versions(runtime) == [1]
    assert main(["gates", "import", str(file), "--move", "idea=pilot"]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [f"> {key} moves to pilot", "Saved version 2 (was 1)."]
    with runtime.transaction() as session:
        initiative = get_initiative(session, audience=EVERYONE, key=key)
        assert initiative.stage == "pilot"
        assert "stage.moved_by_gate_change" in [e.action for e in history(session, initiative=initiative)]


def test_unreadable_file_is_one_line(runtime, tmp_path, capsys):
    assert main(["gates", "import", str(tmp_path / "missing.yml")]) == 1
    missing = tmp_path / "missing.yml"
    assert capsys.readouterr().err == f"initiative-bot: Cannot read {missing}: No such file or directory.\n"
