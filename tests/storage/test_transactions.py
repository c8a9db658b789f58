"""Transactions with a deadline (PostgreSQL behind a pausable proxy) and read-only transactions (both backends)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, func, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from storage.db import make_engine, session_scope
from storage.models import SlackEventReceipt
from tests.support.tcp_proxy import TcpProxy

DEADLINE = 1.0
SLACK_ACK_SECONDS = 3.0


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE slack_event_receipt, commit_deadline"))
    yield engine
    engine.dispose()


@pytest.fixture
def proxied(postgres_url: str) -> Iterator[tuple[TcpProxy, Engine]]:
    """An engine that reaches the test database through a proxy the test can pause."""
    url = make_url(postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        engine = make_engine(url.set(port=proxy.port).render_as_string(hide_password=False))
        yield proxy, engine
        engine.dispose()


def _receipts(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(SlackEventReceipt.event_id)))


def _pause_before_commit(proxy: TcpProxy):  # type: ignore[no-untyped-def]
    def pause(connection) -> None:  # type: ignore[no-untyped-def]
        proxy.pause()

    return pause


def _record(session: Session, event_id: str) -> None:
    session.add(SlackEventReceipt(event_id=event_id, team_id="T1", event_type="test"))
    session.flush()


@pytest.mark.deadline
def test_a_commit_held_up_by_a_stalled_network_fails_in_time_and_never_lands(postgres, proxied):
    proxy, engine = proxied
    pause = _pause_before_commit(proxy)  # the COMMIT leaves the client, and the network holds it
    event.listen(engine, "commit", pause)
    started = time.monotonic()
    with pytest.raises(DBAPIError), session_scope(engine, lock_wait=DEADLINE) as session:
        _record(session, "Ev-late")
    gave_up_after = time.monotonic() - started
    event.remove(engine, "commit", pause)
    proxy.resume()  # the COMMIT reaches the server now, after the deadline
    time.sleep(1)

    # The person waiting is answered before Slack's 3 s are up (here 1 s + the grace, so 1.75 s to spare).
    assert gave_up_after < SLACK_ACK_SECONDS
    assert _receipts(postgres) == []
    with postgres.connect() as connection:
        assert connection.execute(select(func.count()).select_from(text("commit_deadline"))).scalar() == 0
    # The abandoned connection is not handed out again: the next transaction works at once.
    with session_scope(engine, lock_wait=DEADLINE) as session:
        _record(session, "Ev-next")
    assert _receipts(postgres) == ["Ev-next"]


def test_without_a_deadline_the_held_up_commit_lands_when_the_network_returns(postgres, proxied):
    """What the deadline prevents: the same stall, on a transaction nobody waits for."""
    proxy, engine = proxied
    event.listen(engine, "commit", _pause_before_commit(proxy))
    threading.Timer(1.5, proxy.resume).start()
    with session_scope(engine) as session:
        _record(session, "Ev-patient")
    assert _receipts(postgres) == ["Ev-patient"]


@pytest.mark.deadline
def test_postgresql_refuses_a_commit_after_the_deadline_and_keeps_the_table_empty(postgres):
    with postgres.connect() as connection:
        connection.execute(text("INSERT INTO commit_deadline (deadline) VALUES (now() + interval '1 minute')"))
        connection.commit()
        connection.execute(text("INSERT INTO slack_event_receipt (event_id, team_id, event_type, received_at) "
                                "VALUES ('Ev-server', 'T1', 'test', now())"))
        connection.execute(text("INSERT INTO commit_deadline (deadline) VALUES (clock_timestamp())"))
        with pytest.raises(DBAPIError, match="after the transaction's deadline"):
            connection.commit()
    assert _receipts(postgres) == []
    with postgres.connect() as connection:
        assert connection.execute(select(func.count()).select_from(text("commit_deadline"))).scalar() == 0


def test_a_transaction_that_commits_in_time_leaves_its_changes(postgres):
    with session_scope(postgres, lock_wait=DEADLINE) as session:
        _record(session, "Ev-quick")
    assert _receipts(postgres) == ["Ev-quick"]


# ---- read-only transactions ------------------------------------------------------------------------------


def test_a_read_only_transaction_cannot_write(engine):
    with pytest.raises(DBAPIError), session_scope(engine, read_only=True) as session:
        _record(session, "Ev-write")
    assert _receipts(engine) == []


def test_a_read_only_transaction_reads_while_another_holds_the_write_lock(engine):
    with session_scope(engine) as writer:
        _record(writer, "Ev-uncommitted")  # holds SQLite's write lock, and the row's lock on PostgreSQL
        # Waiting for any lock for more than 0.5 s would fail it.
        with session_scope(engine, lock_wait=0.5, read_only=True) as reader:
            seen = list(reader.exec(select(SlackEventReceipt.event_id)))
    assert seen == []  # its snapshot, without the uncommitted row


def test_a_transaction_that_may_write_waits_for_the_write_lock(engine):
    """The counterpart: what the read-only transaction above escapes."""
    with (pytest.raises(DBAPIError, match=r"locked|timeout"), session_scope(engine) as writer,
          session_scope(engine, lock_wait=0.5) as other):
        _record(writer, "Ev-first")
        _record(other, "Ev-first")
