"""`initiative-bot questionnaire export | import`, and `gates import` checking controls against the catalog, on a
real database (both backends): line-numbered errors and new versions, like the gates."""

from __future__ import annotations

from sqlmodel import col, select

from bot.cli import main
from bot.services.gates.workspaces import catalog_for
from bot.services.regulation.controls import REGULATED_GATES
from storage.models import AuditEvent, RegulationDocument
from tests.support.factories import TEAM


def _versions(runtime) -> list[int]:
    with runtime.transaction() as session:
        return list(session.exec(select(RegulationDocument.version).order_by(col(RegulationDocument.version))))


def test_export_edit_and_import_make_a_new_version_and_a_mistake_is_named_at_its_line(runtime, tmp_path, capsys):
    file = tmp_path / "questionnaire.yml"
    assert main(["questionnaire", "export", str(file)]) == 0
    text = file.read_text()
    assert text.startswith("# The risk classification questionnaire of workspace") and "not legal advice" in text
    assert main(["questionnaire", "import", str(file)]) == 0
    assert capsys.readouterr().out == f"No changes: {file} matches version 1.\n"

    broken = text.replace("gpai-provider = yes", "gpai-providr = yes")
    file.write_text(broken)
    assert main(["questionnaire", "import", str(file)]) == 1
    line = next(n for n, row in enumerate(broken.splitlines(), 1) if "gpai-providr" in row)
    assert capsys.readouterr().err.splitlines() == [
        f"{file}:{line}: rule 'gpai-model' asks about 'gpai-providr', which is not a question id",
        f"initiative-bot: {file} has 1 problem(s); nothing was applied"]
    assert _versions(runtime) == [1]

    file.write_text(text.replace("'2026-08-02', what: Transparency", "'2027-08-02', what: Transparency"))
    assert main(["questionnaire", "import", str(file), "--dry-run"]) == 0
    assert "1 change(s) would make version 2. Nothing was applied." in capsys.readouterr().out
    assert main(["questionnaire", "import", str(file)]) == 0
    assert capsys.readouterr().out.endswith("Saved questionnaire version 2 (was 1).\n")
    assert _versions(runtime) == [1, 2]
    with runtime.transaction() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "questionnaire.changed")).one()
        assert event.actor.startswith("cli:") and event.after["version"] == 2


def test_a_gate_file_naming_a_control_the_catalog_lacks_is_refused_at_its_line(runtime, tmp_path, capsys):
    regulated = REGULATED_GATES.read_text()
    assert main(["gates", "import", str(REGULATED_GATES)]) == 0  # the shipped template names known controls
    assert "Saved version 2 (was 1)." in capsys.readouterr().out
    file = tmp_path / "gates.yml"
    file.write_text(regulated.replace('"EU-AI-ACT:Art.27"', '"EU-AI-ACT:Art.99"'))

    assert main(["gates", "import", str(file)]) == 1

    line = next(n for n, row in enumerate(file.read_text().splitlines(), 1) if "Art.99" in row)
    assert capsys.readouterr().err.splitlines()[0] == (
        f"{file}:{line}: checklist item 'rights-impact' names control 'EU-AI-ACT:Art.99', which is not in the "
        "controls catalog (`initiative-bot controls export` lists them)")
    with runtime.transaction() as session:
        assert catalog_for(session, team_id=TEAM).version == 2  # nothing applied
        item = catalog_for(session, team_id=TEAM).gate("idea-to-pilot").checklist_for("compliance")[1]
        assert item.controls == ("EU-AI-ACT:Art.27", "ISO-42001:A.5.4")
