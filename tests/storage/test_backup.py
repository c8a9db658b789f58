"""The restore drill of docs/operations.md ("Backups"), performed: dump with pg_dump, restore with pg_restore into
an empty database (as after losing the first); the audit chain verifies and every table holds what it held."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bot.cli import main
from bot.runtime import Runtime
from bot.services.initiatives.service import create_initiative
from storage.db import make_engine
from tests.support.factories import TEAM, actor
from tests.support.postgres import scratch_database

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}


def table_counts(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return {table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                    for table in SQLModel.metadata.sorted_tables}
    finally:
        engine.dispose()


def libpq(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_dump_restored_into_an_empty_database_verifies_and_holds_every_row(
    runtime: Runtime, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with runtime.transaction() as session:
        for title in ("Fraud model", "Churn model", "Forecasting"):
            create_initiative(session, actor=actor("UBIZ"), title=title, owners=OWNERS)
    before = table_counts(database_url)
    dump = tmp_path / "initiative-bot.dump"

    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", libpq(database_url)], check=True, timeout=120)
    with scratch_database("ib_restore") as restored:
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={libpq(restored)}", str(dump)],
                       check=True, timeout=120)
        after = table_counts(restored)
        monkeypatch.setenv("DATABASE_URL", restored)
        verified = main(["audit", "verify", "--team", TEAM])
        report = capsys.readouterr().out

    assert after == before and before["initiative"] == 3
    assert verified == 0
    assert f"verifies: {before['audit_event']} events checked" in report
