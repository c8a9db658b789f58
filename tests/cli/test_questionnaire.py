"""`initiative-bot questionnaire export | import` against a real database (both backends): the questionnaire as
code, with line-numbered errors and new versions, like the gates."""

from __future__ import annotations

from sqlmodel import col, select

from bot.cli import main
from storage.models import AuditEvent, RegulationDocument


def _versions(runtime) -> list[int]:
    with runtime.transaction() as session:
        return list(session.exec(select(RegulationDocument.version).order_by(col(RegulationDocument.version))))


def test_export_edit_and_import_make_a_new_version_and_a_mistake_is_named_at_its_line(runtime, tmp_path, capsys):
    file = tmp_path / "questionnaire.yml"
    assert main(["questionnaire", "export", str(file)]) == 0
    text = file.read_text()
    assert text.startswith("# Risk classification questionnaire of workspace") and "not legal advice" in text
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
