"""The registry of posted messages: one live message per subject, in the database itself; a new post of a
subject replaces the old one, which its queued updates still reach; an update that changes nothing is skipped."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.delivery.messages import live_message, post_message, update_message
from storage.models import OutboxMessage, SlackMessage
from tests.support.factories import TEAM


def test_a_subject_has_one_live_message_whoever_writes_it(runtime):
    with runtime.transaction() as session:
        session.add(SlackMessage(team_id=TEAM, kind="sign_off_request", subject="7"))

    with pytest.raises(IntegrityError), runtime.transaction() as session:
        session.add(SlackMessage(team_id=TEAM, kind="sign_off_request", subject="7"))


def test_a_new_post_replaces_the_live_message_and_updates_of_the_old_one_still_go_to_it(runtime):
    with runtime.transaction() as session:
        old = post_message(session, team_id=TEAM, kind="sign_off_request", subject=7,
                           payload={"channel": "UCAROL", "text": "Please review"})
        moved = update_message(session, old, payload={"text": "Moved to Bob"})
        new = post_message(session, team_id=TEAM, kind="sign_off_request", subject=7,
                           payload={"channel": "UBOB", "text": "Please review"})
        assert moved is not None
        moved_id, old_id, new_id = moved.id, old.id, new.id

    with runtime.transaction() as session:
        assert live_message(session, team_id=TEAM, kind="sign_off_request", subject=7).id == new_id
        assert session.get(SlackMessage, old_id).replaced_at is not None
        queued = {row.id: row for row in session.exec(select(OutboxMessage))}
    assert queued[moved_id].message_id == old_id and queued[queued[moved_id].depends_on].message_id == old_id


def test_an_update_that_shows_nothing_new_is_not_queued(runtime):
    with runtime.transaction() as session:
        message = post_message(session, team_id=TEAM, kind="gate_passed", subject=3,
                               payload={"channel": "C1", "text": "Passed", "unfurl_links": False})
        unchanged = update_message(session, message, payload={"text": "Passed"}, unless_shown=True)
        changed = update_message(session, message, payload={"text": "Passed, with a chart"}, unless_shown=True)
        again = update_message(session, message, payload={"text": "Passed, with a chart"}, unless_shown=True)

    assert unchanged is None and changed is not None and again is None
