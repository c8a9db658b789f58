"""The bot's HTTP endpoint, served as `serve` serves it (bot.web.WebApp), against the Slack emulator."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg
import pytest
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.edge import MAX_BODY_BYTES
from bot.listeners.middleware import OTHER_WORKSPACE
from bot.views import ids
from bot.views.replies import SOMETHING_WENT_WRONG
from slack_emulator.requests import (
    BAD_SIGNATURE,
    TEAM_ID,
    event_body,
    interaction_body,
    post_signed,
    slash_command_body,
    stale_timestamp,
    url_verification_body,
    view_submission_payload,
)
from storage.models import Initiative, OutboxMessage, SlackEventReceipt, Workspace
from tests.support.slack_app import SIGNING_SECRET, RunningSlackApp

HOME_OPENED = {"type": "app_home_opened", "user": "U0001", "channel": "D0001", "tab": "home"}


def counts(slack_app: RunningSlackApp) -> dict[str, int]:
    with slack_app.runtime.transaction() as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Initiative, OutboxMessage, SlackEventReceipt, Workspace)
        }


def test_the_url_verification_challenge_is_answered_when_signed_and_refused_when_not(
    slack_app: RunningSlackApp,
) -> None:
    """What Slack sends when the events request URL is saved in the app's settings."""
    body = url_verification_body("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")

    answer = post_signed(slack_app.events_url, body, slack_app.signing_secret)
    forged = post_signed(slack_app.events_url, body, slack_app.signing_secret, signature=BAD_SIGNATURE)

    assert answer.status_code == 200
    assert answer.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert forged.status_code == 401


@pytest.mark.parametrize(
    "forgery",
    [
        {"signature": BAD_SIGNATURE},
        {"timestamp": stale_timestamp()},  # signed correctly, but more than five minutes old
        {"signing_secret": "someone-elses-secret"},
    ],
    ids=["bad", "stale", "wrong-secret"],
)
@pytest.mark.parametrize(
    "body",
    [slash_command_body("/initiative", "new Fraud model"), event_body(HOME_OPENED)],
    ids=["command", "event"],
)
def test_forged_requests_get_401_and_change_nothing(slack_app: RunningSlackApp, forgery: dict, body: str) -> None:
    before = counts(slack_app)
    options = dict(forgery)
    secret = options.pop("signing_secret", slack_app.signing_secret)

    response = post_signed(slack_app.events_url, body, secret, **options)

    assert response.status_code == 401
    assert counts(slack_app) == before
    assert [call.method for call in slack_app.emulator.calls if call.method != "auth.test"] == []


def test_a_request_without_signature_headers_gets_401(slack_app: RunningSlackApp) -> None:
    response = httpx.post(
        slack_app.events_url, content=event_body(HOME_OPENED), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 401
    assert counts(slack_app)["SlackEventReceipt"] == 0


def test_the_edge_refuses_a_body_over_the_limit_before_reading_it_on_any_server(slack_app: RunningSlackApp) -> None:
    """`serve`'s worker refuses it first (tests/security); bot.edge holds on a server that reads bodies for it."""
    host, port = slack_app.url.removeprefix("http://").split(":")
    head = f"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=5) as client:
        client.sendall(head.encode() + b"payload=")  # the rest of the body never comes
        answer = client.recv(4096)

    assert answer.startswith(b"HTTP/1.0 413") or answer.startswith(b"HTTP/1.1 413")


def test_a_signed_event_is_received_once_however_often_slack_retries(slack_app: RunningSlackApp) -> None:
    first = slack_app.event(HOME_OPENED, event_id="Ev0001")
    retries = [slack_app.event(HOME_OPENED, event_id="Ev0001", retry_num=n) for n in (1, 2, 3)]
    other = slack_app.event(HOME_OPENED, event_id="Ev0002")

    assert [r.status_code for r in (first, *retries, other)] == [200] * 5  # Slack stops retrying on 200
    with slack_app.runtime.transaction() as session:
        received = session.exec(select(SlackEventReceipt.event_id)).all()
    assert sorted(received) == ["Ev0001", "Ev0002"]


def test_healthz_answers_200_while_the_database_answers(slack_app: RunningSlackApp) -> None:
    response = httpx.get(slack_app.url + "/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.postgres_only
def test_an_event_that_arrives_while_the_database_is_down_is_taken_on_slacks_retry(
    slack_app: RunningSlackApp, database_url: str
) -> None:
    with database_down(database_url):
        during = slack_app.event(HOME_OPENED, event_id="EvOutage")
    retry = slack_app.event(HOME_OPENED, event_id="EvOutage", retry_num=1, retry_reason="http_error")

    assert during.status_code == 500 and "Traceback" not in during.text  # not 200: Slack must retry
    assert retry.status_code == 200
    with slack_app.runtime.transaction() as session:
        assert session.exec(select(SlackEventReceipt.event_id)).all() == ["EvOutage"]


@pytest.mark.postgres_only
def test_a_command_that_arrives_while_the_database_is_down_gets_one_sentence(
    slack_app: RunningSlackApp, database_url: str
) -> None:
    with database_down(database_url):
        answer = slack_app.ask("list")

    assert answer["text"] == SOMETHING_WENT_WRONG and answer.get("response_type", "ephemeral") == "ephemeral"


@contextmanager
def database_down(database_url: str) -> Iterator[None]:
    """PostgreSQL refuses every connection to the test database (existing ones are cut) inside the block."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL can refuse connections to one database; SQLite has no server to lose")
    name = make_url(database_url).database
    admin_dsn = make_url(database_url).set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


OTHER_TEAM = "T0OTHER"
NEW_FRAUD_MODEL = {
    "title": {ids.VALUE: {"type": "plain_text_input", "value": "Fraud model"}},
    "risk_tier": {ids.VALUE: {"type": "static_select", "selected_option": {"value": "low"}}},
}


@pytest.mark.parametrize(
    "body",
    [
        slash_command_body("/initiative", "new Fraud model", team_id=OTHER_TEAM, user_id="UADMIN"),
        event_body(HOME_OPENED, team_id=OTHER_TEAM),
        interaction_body(view_submission_payload(ids.NEW_INITIATIVE_MODAL, NEW_FRAUD_MODEL, team_id=OTHER_TEAM)),
        # Names this workspace where Bolt looks first (the view's installing team), another one everywhere else.
        interaction_body(view_submission_payload(ids.NEW_INITIATIVE_MODAL, NEW_FRAUD_MODEL, team_id=OTHER_TEAM,
                                                 view={"app_installed_team_id": TEAM_ID})),
    ],
    ids=["command", "event", "submission", "submission-naming-both"],
)
def test_a_signed_request_about_another_workspace_is_refused_and_changes_nothing(
    slack_app: RunningSlackApp, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One bot token serves one workspace: whatever another workspace's request says, it is not served with it."""
    before = counts(slack_app)

    with caplog.at_level("INFO"):
        response = slack_app.post(body)

    assert response.status_code == 200  # a refused event is not retried, nor the events URL disabled
    assert response.text in ("", OTHER_WORKSPACE)
    assert counts(slack_app) == before
    assert [call.method for call in slack_app.emulator.calls if call.method != "auth.test"] == []
    [refusal] = [record for record in caplog.records if record.levelname != "DEBUG" and "refused" in record.message]
    assert OTHER_TEAM in refusal.message and TEAM_ID in refusal.message
    assert slack_app.emulator.bot_token not in refusal.message and SIGNING_SECRET not in refusal.message


def test_a_slash_command_from_another_workspace_is_told_why(slack_app: RunningSlackApp) -> None:
    response = slack_app.command("list", team_id=OTHER_TEAM)

    assert (response.status_code, response.text) == (200, OTHER_WORKSPACE)


def test_unknown_paths_and_methods_are_refused(slack_app: RunningSlackApp) -> None:
    assert httpx.get(slack_app.events_url).status_code == 405
    assert httpx.get(slack_app.url + "/admin").status_code == 404
