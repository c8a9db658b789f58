"""The restore drill of docs/operations.md ("Backups"), performed: dump with pg_dump, drop the database, restore
it with pg_restore; the audit chain verifies and every table holds what it held."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bot.cli import main
from bot.config import load_settings
from bot.runtime import Runtime
from bot.services.gates.workspaces import ensure_workspace
from bot.services.initiatives.service import create_initiative
from storage.migrate import upgrade
from tests.support.factories import TEAM, actor
from tests.support.postgres import PG_SERVER_URL, scratch_database

OWNERS = {"business": "UBIZ", "data": "UDATA", "engineering": "UENG"}


def table_counts(runtime: Runtime) -> dict[str, int]:
    with runtime.engine.connect() as connection:
        return {table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in SQLModel.metadata.sorted_tables}


def test_a_dump_restored_into_a_dropped_database_verifies_and_holds_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with scratch_database("ib_drill") as url:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        name = make_url(url).database
        runtime = Runtime.from_settings(load_settings(_env_file=None, database_url=url))
        upgrade(runtime.engine)
        with runtime.transaction() as session:
            ensure_workspace(session, team_id=TEAM, name="Test Corp")
            for title in ("Fraud model", "Churn model", "Forecasting"):
                create_initiative(session, actor=actor("UBIZ"), title=title, owners=OWNERS)
        before = table_counts(runtime)
        runtime.engine.dispose()

        dump = tmp_path / "initiative-bot.dump"
        subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", dsn], check=True, timeout=120)
        admin_dsn = make_url(PG_SERVER_URL).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={dsn}", str(dump)], check=True,
                       timeout=120)

        after = table_counts(runtime)
        runtime.engine.dispose()
        monkeypatch.setenv("DATABASE_URL", url)
        verified = main(["audit", "verify", "--team", TEAM])
        report = capsys.readouterr().out

    assert after == before and before["initiative"] == 3
    assert verified == 0
    assert f"verifies: {before['audit_event']} events checked" in report
