"""Shared fixtures. Storage tests run on SQLite and on PostgreSQL.

PostgreSQL: each pytest run creates its own database on the server named by TEST_POSTGRES_URL (default: the
local server's `test` database, trust auth), so parallel runs never see each other, and truncates it between
tests. With CI=true an unreachable PostgreSQL is an error, never a skip (tests/support/postgres.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from bot.config import load_settings
from bot.integrations import targets
from bot.runtime import Runtime
from bot.services.gates.workspaces import ensure_workspace
from storage.db import make_engine
from storage.migrate import upgrade
from tests.support import slack_calls
from tests.support.factories import TEAM
from tests.support.postgres import scratch_database
from tests.support.quiet_machine import machine, xdist_run_id
from tests.support.slack_app import slack_app, slack_emulator  # noqa: F401  (fixtures for every package)

slack_calls.install()  # at collection, before any test of any package runs

SCOPE_TEST = "test_manifest_asks_only_for_scopes_the_recorded_calls_need"


CHECK_SCOPES = pytest.StashKey[bool]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under xdist (the README's test command), the scope test needs every worker's recorded calls: each worker
    hands its record to the controller, which checks them once all are in, and fails the run on a problem."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["slack_calls"] = sorted(slack_calls.RECORDED)
    elif session.config.stash.get(CHECK_SCOPES, False):
        from tests.test_manifest import scope_problems

        problems = scope_problems(slack_calls.RECORDED)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for problem in problems:
            reporter.write_line(f"FAILED {SCOPE_TEST}: {problem}", red=True)
        if problems:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        else:
            reporter.write_line(f"{SCOPE_TEST}: checked over every worker's recorded calls", green=True)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # type: ignore[no-untyped-def]
    """xdist's controller: a worker's recorded calls join the run's; the one that met the scope test asks for it."""
    output = getattr(node, "workeroutput", {})
    slack_calls.RECORDED.update((method, test) for method, test in output.get("slack_calls", ()))
    if output.get("check_scopes"):
        node.config.stash[CHECK_SCOPES] = True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[object]:
    """A test marked `deadline` runs while no other worker runs a test (tests/support/quiet_machine.py)."""
    with machine(xdist_run_id(), alone=item.get_closest_marker("deadline") is not None):
        return (yield)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The scope test compares against every call the run recorded, so it runs last."""
    items.sort(key=lambda item: item.name.startswith(SCOPE_TEST))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated to head, dropped afterwards."""
    with scratch_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A clean, migrated database: a new SQLite file, or the run's PostgreSQL database emptied."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return url
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def runtime(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """A runtime on the test database, with one workspace holding the default gate template."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    runtime = Runtime.from_settings(load_settings(_env_file=None, admin_user_ids="UADMIN"))
    with runtime.transaction() as session:
        ensure_workspace(session, team_id=TEAM, name="Test Corp")
    yield runtime
    runtime.engine.dispose()


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test depends on real DNS: names under example.com resolve to one public address, others do not
    resolve. (tests/integrations answers from a table of its own.)"""

    def resolve(host: str, port: int) -> list[str]:
        if host == "example.com" or host.endswith(".example.com"):
            return ["93.184.215.14"]
        raise targets.OutboundFailed(f"{host} does not resolve (unknown name)")

    monkeypatch.setattr(targets, "resolve", resolve)
