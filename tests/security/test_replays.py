"""Ten copies of one click, and of one checklist submission, sent at the same moment from ten OS processes to
`serve`'s two worker processes on PostgreSQL: one decision, one audit event, one update of the DM (issue 22).

Each copy is the very same signed request (same body, timestamp and signature), as a replaying attacker or a
client that resends would send it. The guards: the decision is a compare-and-set on the locked review, and a
sign-off already decided is reported as such, not decided again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.views import ids
from slack_emulator.requests import (
    block_actions_payload,
    interaction_body,
    signed_headers,
    ticked_all,
    view_submission_payload,
)
from storage.models import AuditEvent, SignOff
from tests.security.conftest import Target, button_value, open_review, serving_target
from tests.security.replay_client import send_copy
from tests.support.postgres import scratch_database
from tests.support.processes import race
from tests.support.slack_app import SIGNING_SECRET

COPIES = 10


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """Two worker processes, so that the copies are served by separate processes as well as threads."""
    with scratch_database("ib_replays") as database_url, serving_target(
        tmp_path_factory.mktemp("serve"), database_url, "--workers", "2", "--threads", "8"
    ) as target:
        yield target


def test_ten_copies_of_an_approve_click_decide_nothing(target: Target) -> None:
    review = open_review(target, "Click replayed")
    dm = review.request_dm(target, "UDEV")
    click = block_actions_payload(ids.APPROVE, button_value(dm, ids.APPROVE), user_id="UDEV", message=dm,
                                  channel_id=dm["channel"], trigger_id=target.emulator.new_trigger_id(),
                                  response_url=target.emulator.new_response_url())
    audit_events = target.count(AuditEvent)
    opened_before = len(target.emulator.calls_to("views.open"))

    answers = _send_copies(target, interaction_body(click))

    assert [status for status, _ in answers] == ["HTTP/1.1 200 OK"] * COPIES
    # Every copy reached the listener, which tried to open the checklist: Slack opens at most one modal per
    # trigger_id (none when starting ten processes took longer than the trigger's 3 s).
    opened = target.answered("views.open", opened_before + COPIES)[opened_before:]
    assert len(opened) == COPIES and len([call for call in opened if call.ok]) <= 1
    assert target.count(AuditEvent) == audit_events
    assert _decided(target, dm) == []
    target.sent_everything()
    assert not [call for call in target.emulator.calls_to("chat.update") if call.params["channel"] == dm["channel"]]


def test_ten_copies_of_a_checklist_submission_record_one_decision_and_update_the_dm_once(target: Target) -> None:
    review = open_review(target, "Submission replayed")
    dm = review.request_dm(target, "UDEV")
    modal = target.checklist_opened_by("UDEV", dm)
    submission = view_submission_payload(modal["callback_id"], ticked_all(modal), modal["private_metadata"],
                                         "UDEV", view=modal)
    last_event = _last_audit_event(target)
    updates_before = len(_updates_of(target, dm))

    answers = _send_copies(target, interaction_body(submission))

    assert [status for status, _ in answers] == ["HTTP/1.1 200 OK"] * COPIES
    closed = [body for _, body in answers if not body]  # the modal closes for the copy that decided
    refused = [json.loads(body) for _, body in answers if body]
    assert len(closed) == 1, answers
    assert all("already approved by <@UDEV>" in str(answer["view"]["blocks"]) for answer in refused), refused
    assert _decided(target, dm) == [("data", "approved")]
    assert [event.action for event in target.rows(AuditEvent, AuditEvent.id > last_event)] == ["signoff.approved"]
    target.sent_everything()
    assert len(_updates_of(target, dm)) == updates_before + 1
    assert "Approved by <@UDEV>" in str(review.request_dm(target, "UDEV")["blocks"])


def _send_copies(target: Target, body: str) -> list[tuple[str, str]]:
    """The same signed request from `COPIES` processes at once; their answers."""
    host, port = target.address
    headers = signed_headers(body, SIGNING_SECRET) | {"Host": f"{host}:{port}", "Connection": "close",
                                                      "Content-Length": str(len(body.encode()))}
    request = ("POST /slack/events HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n")
    return race(send_copy, [(target.address, request.encode() + body.encode())] * COPIES)


def _decided(target: Target, dm: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, state) of every decided sign-off of the review whose request `dm` is."""
    [requested] = target.rows(SignOff, SignOff.id == ids.decode_sign_off_value(button_value(dm, ids.APPROVE)))
    return sorted((row.role, row.state) for row in target.rows(SignOff, SignOff.review_id == requested.review_id,
                                                                   SignOff.state != "pending"))


def _last_audit_event(target: Target) -> int:
    return max((row.id for row in target.rows(AuditEvent)), default=0)


def _updates_of(target: Target, dm: dict[str, Any]) -> list[Any]:
    return [call for call in target.emulator.calls_to("chat.update")
            if (call.params["channel"], call.params["ts"]) == (dm["channel"], dm["ts"])]
