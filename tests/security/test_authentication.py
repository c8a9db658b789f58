"""Nothing is parsed before it is authenticated, and only Slack's signature authenticates (issue 22, item 3).

Each forged or malformed request gets 401, changes nothing, and leaves one short WARNING line: no traceback, no
ERROR, no body."""

from __future__ import annotations

import time

import httpx
import pytest

from bot.edge import MAX_BODY_BYTES
from slack_emulator.requests import (
    BAD_SIGNATURE,
    FORM,
    JSON,
    STALE_AFTER_SECONDS,
    event_body,
    post_signed,
    sign,
    signed_headers,
    stale_timestamp,
)
from tests.security.conftest import LONGEST_LOG_LINE, Target
from tests.support.slack_app import SIGNING_SECRET

HOME_OPENED = {"type": "app_home_opened", "user": "U0001", "channel": "D0001", "tab": "home"}
DEEP = "[" * 50_000 + "]" * 50_000


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("payload=not json", FORM),
        ("[]", JSON),
        ("null", JSON),
        (DEEP, JSON),
        ("payload=" + DEEP, FORM),
        ("\xff\xfe not utf-8", FORM),
    ],
    ids=["payload-not-json", "json-list", "json-null", "deep-json", "deep-payload", "not-utf8"],
)
def test_unsigned_bodies_that_would_break_a_parser_get_401_without_a_traceback(
    target: Target, body: str, content_type: str
) -> None:
    log = target.log_window()

    response = httpx.post(target.events_url, content=body.encode("latin-1"), headers={"Content-Type": content_type})

    assert response.status_code == 401
    _assert_one_short_warning(log.lines, "no Slack signature headers")


# `²` (0xB2 in Latin-1, as WSGI decodes headers) is a digit to str.isdigit() but not to int().
@pytest.mark.parametrize(
    "timestamp",
    [b"abc", b"1.5e9", b"-1", b"17000000\xb2\xb2", b"9" * 40],
    ids=["letters", "float", "negative", "superscript-digits", "huge"],
)
def test_a_timestamp_that_is_not_an_integer_gets_401(target: Target, timestamp: bytes) -> None:
    body = event_body(HOME_OPENED, event_id="EvBadTimestamp")
    log = target.log_window()
    headers = {"Content-Type": JSON, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": BAD_SIGNATURE}

    response = httpx.post(target.events_url, content=body.encode(), headers=headers)

    assert response.status_code == 401
    _assert_one_short_warning(log.lines, "X-Slack-Request-Timestamp is not an integer")


@pytest.mark.parametrize(
    "forgery",
    [
        {"signature": BAD_SIGNATURE},
        {"secret": "not-the-signing-secret"},
        {"age": STALE_AFTER_SECONDS + 60},  # signed correctly, more than five minutes ago
        {"age": -10 * 60},  # signed correctly, ten minutes from now
    ],
    ids=["bad-signature", "wrong-secret", "stale", "future"],
)
def test_forged_signatures_get_401_and_the_event_is_not_taken(target: Target, forgery: dict) -> None:
    receipts = target.receipts()
    body = event_body(HOME_OPENED, event_id=f"EvForged{len(str(forgery))}")
    log = target.log_window()

    # The timestamp is taken when the test runs, not when it was collected: a run can last longer than 5 minutes.
    timestamp = stale_timestamp(forgery["age"]) if "age" in forgery else None
    response = post_signed(
        target.events_url,
        body,
        forgery.get("secret", SIGNING_SECRET),
        timestamp=timestamp,
        signature=forgery.get("signature"),
    )

    assert response.status_code == 401
    assert target.receipts() == receipts
    _assert_one_short_warning(log.lines, "signature does not match")


@pytest.mark.parametrize("missing", ["X-Slack-Signature", "X-Slack-Request-Timestamp"])
def test_a_request_missing_a_signature_header_gets_401(target: Target, missing: str) -> None:
    body = event_body(HOME_OPENED, event_id="EvMissing")
    headers = signed_headers(body, SIGNING_SECRET, content_type=JSON)
    del headers[missing]
    log = target.log_window()

    response = httpx.post(target.events_url, content=body.encode(), headers=headers)

    assert response.status_code == 401
    _assert_one_short_warning(log.lines, "no Slack signature headers")


def test_a_forged_body_near_the_size_limit_is_not_logged(target: Target) -> None:
    """Bolt's own check logged the whole body of each forged request: 1 MiB of log per request here."""
    body = "payload=" + "x" * (MAX_BODY_BYTES - 100)
    log = target.log_window()

    response = post_signed(target.events_url, body, "not-the-signing-secret")

    assert response.status_code == 401
    _assert_one_short_warning(log.lines, "signature does not match")


def test_signature_headers_spelled_with_underscores_are_not_taken_for_slacks(target: Target) -> None:
    """WSGI spells `X-Slack-Signature` and `X_Slack_Signature` alike; only the first is Slack's header."""
    body = event_body(HOME_OPENED, event_id="EvUnderscores")
    timestamp = int(time.time())
    headers = {
        "Content-Type": JSON,
        "X_Slack_Request_Timestamp": str(timestamp),
        "X_Slack_Signature": sign(body, SIGNING_SECRET, timestamp),
    }

    response = httpx.post(target.events_url, content=body.encode(), headers=headers)

    assert response.status_code == 401


def test_a_correctly_signed_event_is_taken(target: Target) -> None:
    """The control for the tests above: the same request, signed with the secret, gets through."""
    receipts = target.receipts()

    response = post_signed(target.events_url, event_body(HOME_OPENED, event_id="EvGenuine"), SIGNING_SECRET)

    assert response.status_code == 200
    assert target.receipts() == receipts + 1


def _assert_one_short_warning(lines: list[str], reason: str) -> None:
    refusals = [line for line in lines if "refused POST /slack/events" in line]
    assert len(refusals) == 1 and reason in refusals[0] and "WARNING" in refusals[0], lines
    assert max(len(line) for line in lines) <= LONGEST_LOG_LINE
    assert not [line for line in lines if "Traceback" in line or "ERROR" in line], lines
