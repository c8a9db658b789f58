"""Migration 0010 moves the message addresses the outbox held (sign-off DMs, digest texts, earlier DMs that a
queued update still waits for) into `slack_message`. A user who upgrades loses nothing: the updates queued before
the upgrade, and those made after it, reach the messages Slack already shows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Connection, inspect, text
from sqlmodel import select

from bot.config import load_settings
from bot.delivery.messages import live_message, update_message
from bot.runtime import Runtime
from slack_emulator import SlackEmulator
from storage.models import DigestRun, OutboxMessage, SlackMessage
from tests.storage.old_schema import at_revision, downgrade_to, empty_database, insert, moment
from tests.support.slack_app import deliver_outbox, slack_settings

TEAM = "T0OLD"
EARLIER = "2026-11-30 10:00:00.000000"


@pytest.fixture(params=["sqlite", "postgresql"])
def old_url(request, tmp_path, monkeypatch) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with empty_database(request.param, tmp_path) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        yield url


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator(team_id=TEAM) as emulator:
        for user in ("UALICE", "UBOB", "UCAROL"):
            emulator.add_user(user, user.lower())
        emulator.add_channel("C0DIGEST", "ai-digest")
        yield emulator


class OldBot:
    """What the previous version did: post through Slack, keep the answer in the outbox row's `result`."""

    def __init__(self, connection: Connection, slack: WebClient) -> None:
        self.connection, self.slack = connection, slack

    def outbox(self, method: str, payload: dict[str, Any], *, state: str = "pending",
               result: dict[str, Any] | None = None, depends_on: int | None = None,
               last_error: str | None = None) -> int:
        times = {"sent_at": moment(self.connection, EARLIER)} if state == "sent" else {}
        return insert(self.connection, "outbox_message", team_id=TEAM, method=method, payload=payload, state=state,
                      depends_on=depends_on, attempts=0, next_attempt_at=moment(self.connection, EARLIER),
                      result=result, last_error=last_error, created_at=moment(self.connection, EARLIER), **times)

    def posted(self, channel: str, text: str) -> tuple[int, dict[str, str]]:
        answer = self.slack.chat_postMessage(channel=channel, text=text)
        result = {"channel": answer["channel"], "ts": answer["ts"]}
        return self.outbox("chat.postMessage", {"channel": channel, "text": text}, state="sent", result=result), result


def _fill_at_0009(url: str, emulator: SlackEmulator) -> dict[str, Any]:
    """One review with two sign-offs (Bob's moved to him from Carol) and three weeks of a digest."""
    engine = at_revision(url, "0009")
    slack = WebClient(token=emulator.bot_token, base_url=emulator.base_url)
    seen: dict[str, Any] = {}
    with engine.begin() as connection:
        bot = OldBot(connection, slack)
        at = moment(connection, EARLIER)
        insert(connection, "workspace", key="team_id", team_id=TEAM, name="Old Corp", next_initiative_number=2,
               created_at=at)
        initiative = insert(
            connection, "initiative", team_id=TEAM, number=1, title="Churn model", description="", problem="",
            kpi_name="churn", kpi_baseline="5%", kpi_target="4%", risk_tier="low", status="active", stage="idea",
            stage_entered_at=at, current_transition_id="t-1", created_by="UALICE", created_at=at, updated_at=at,
            tags=[], business_unit="")
        review = insert(connection, "gate_review", team_id=TEAM, initiative_id=initiative, gate_slug="g1",
                        from_stage="idea", to_stage="build", definition_version=1, sla_business_days=3,
                        state="open", opened_by="UALICE", opened_at=at)
        insert(connection, "stage_transition", team_id=TEAM, id="t-1", initiative_id=initiative, to_stage="idea",
               at=at, reason="created", actor="UALICE", review_id=review, key="id")
        sign_offs = [insert(connection, "sign_off", team_id=TEAM, review_id=review, role=role, assignee=assignee,
                            state="pending", requested_at=at, ticked=[], waivers=[], evidence_links=[])
                     for role, assignee in (("product", "UALICE"), ("engineering", "UBOB"))]
        seen["sign_offs"] = sign_offs
        # Alice's DM was delivered; an update of it was still queued at the upgrade.
        alice_post, seen["alice"] = bot.posted("UALICE", "Please review (product)")
        bot.outbox("chat.update", {"text": "Please review (product): link broken"}, depends_on=alice_post)
        insert(connection, "sign_off_message", team_id=TEAM, sign_off_id=sign_offs[0], outbox_message_id=alice_post,
               user_id="UALICE", created_at=at)
        # The engineering sign-off moved from Carol to Bob: Carol's DM waits for its "moved" update, Bob's for
        # its post.
        carol_post, seen["carol"] = bot.posted("UCAROL", "Please review (engineering)")
        bot.outbox("chat.update", {"text": "Moved to Bob"}, depends_on=carol_post)
        bob_post = bot.outbox("chat.postMessage", {"channel": "UBOB", "text": "Please review (engineering)"})
        insert(connection, "sign_off_message", team_id=TEAM, sign_off_id=sign_offs[1], outbox_message_id=bob_post,
               user_id="UBOB", created_at=at)
        digest = insert(connection, "digest", team_id=TEAM, name="weekly", channel_id="C0DIGEST", cron="0 9 * * 1",
                        timezone="UTC", enabled=True, created_by="UALICE", created_at=at)
        runs = {}
        for week, (state, post) in {
            "2026-W46": ("posted", bot.posted("C0DIGEST", "Digest W46")),
            "2026-W47": ("failed", (bot.outbox("chat.postMessage", {"channel": "C0GONE", "text": "Digest W47"},
                                               state="failed", last_error="channel_not_found"), None)),
            "2026-W48": ("posting", (bot.outbox("chat.postMessage", {"channel": "C0DIGEST", "text": "Digest W48"}),
                                     None)),
        }.items():
            post_id, result = post
            runs[week] = insert(connection, "digest_run", team_id=TEAM, digest_id=digest, week=week, as_of=at,
                                state=state, text_outbox_id=post_id, chart_state="uploaded", chart_attempts=1,
                                created_at=at, channel_id=(result or {}).get("channel"),
                                ts=(result or {}).get("ts"))
            seen[week] = result
        seen["runs"] = runs
    engine.dispose()
    return seen


@pytest.fixture
def upgraded(old_url, emulator) -> Iterator[tuple[Runtime, dict[str, Any]]]:
    seen = _fill_at_0009(old_url, emulator)
    engine = at_revision(old_url, "head")
    engine.dispose()
    runtime = Runtime.from_settings(slack_settings(load_settings(_env_file=None), emulator))
    yield runtime, seen
    runtime.engine.dispose()


def test_the_addresses_of_posted_messages_move_into_the_message_table(upgraded) -> None:
    runtime, seen = upgraded
    alice_sign_off, bob_sign_off = seen["sign_offs"]
    with runtime.transaction() as session:
        alice = live_message(session, team_id=TEAM, kind="sign_off_request", subject=alice_sign_off)
        bob = live_message(session, team_id=TEAM, kind="sign_off_request", subject=bob_sign_off)
        assert alice is not None and bob is not None
        assert (alice.state, alice.channel, alice.ts) == ("posted", seen["alice"]["channel"], seen["alice"]["ts"])
        assert (bob.state, bob.channel, bob.ts) == ("pending", None, None)
        replaced = session.exec(select(SlackMessage).where(SlackMessage.replaced_at != None)).all()  # noqa: E711
        assert [(m.channel, m.ts) for m in replaced] == [(seen["carol"]["channel"], seen["carol"]["ts"])]

        runs = {run.week: run for run in session.exec(select(DigestRun))}
        texts = {week: session.get(SlackMessage, run.message_id) for week, run in runs.items()}
        assert {week: (m.kind, m.subject, m.state) for week, m in texts.items() if m} == {
            "2026-W46": ("digest", str(runs["2026-W46"].id), "posted"),
            "2026-W47": ("digest", str(runs["2026-W47"].id), "failed"),
            "2026-W48": ("digest", str(runs["2026-W48"].id), "pending"),
        }
        assert (texts["2026-W46"].channel, texts["2026-W46"].ts) == (seen["2026-W46"]["channel"],
                                                                       seen["2026-W46"]["ts"])
        assert texts["2026-W47"].error == "channel_not_found"
        # Every queued call is linked to the message it posts or updates.
        assert all(row.message_id is not None for row in session.exec(select(OutboxMessage)))

    tables = inspect(runtime.engine)
    assert "sign_off_message" not in tables.get_table_names()
    assert "text_outbox_id" not in {column["name"] for column in tables.get_columns("digest_run")}


def test_updates_queued_before_the_upgrade_and_made_after_it_reach_the_right_messages(upgraded, emulator) -> None:
    runtime, seen = upgraded

    deliver_outbox(runtime, emulator)
    with runtime.transaction() as session:
        alice = live_message(session, team_id=TEAM, kind="sign_off_request", subject=seen["sign_offs"][0])
        assert alice is not None
        update_message(session, alice, payload={"text": "Approved by Alice"})
        bob = live_message(session, team_id=TEAM, kind="sign_off_request", subject=seen["sign_offs"][1])
        assert bob is not None
        update_message(session, bob, payload={"text": "Approved by Bob"})
    report = deliver_outbox(runtime, emulator)

    assert report.failed == 0
    shown = {(m["channel"], m["ts"]): m["text"] for m in emulator.messages()}
    assert shown[(seen["alice"]["channel"], seen["alice"]["ts"])] == "Approved by Alice"
    assert shown[(seen["carol"]["channel"], seen["carol"]["ts"])] == "Moved to Bob"
    assert shown[(emulator.dm_channel("UBOB"), bob.ts)] == "Approved by Bob"
    assert [m["text"] for m in emulator.messages(emulator.dm_channel("UBOB"))] == ["Approved by Bob"]
    # The digest text that was still queued is posted, and its message knows where.
    assert [m["text"] for m in emulator.messages("C0DIGEST")] == ["Digest W46", "Digest W48"]
    with runtime.transaction() as session:
        w48 = session.exec(select(DigestRun).where(DigestRun.week == "2026-W48")).one()
        text = session.get(SlackMessage, w48.message_id)
        assert text is not None and (text.state, text.channel) == ("posted", "C0DIGEST")


def test_a_downgrade_puts_the_addresses_back_where_the_previous_version_reads_them(old_url, emulator) -> None:
    seen = _fill_at_0009(old_url, emulator)
    engine = at_revision(old_url, "head")
    downgrade_to(engine, "0009")

    with engine.connect() as connection:
        links = connection.execute(text("SELECT o.result FROM sign_off_message m JOIN outbox_message o "
                                        "ON o.id = m.outbox_message_id WHERE m.sign_off_id = :id"),
                                   {"id": seen["sign_offs"][0]}).scalar_one()
        texts = connection.execute(text("SELECT r.week, o.state FROM digest_run r JOIN outbox_message o "
                                        "ON o.id = r.text_outbox_id ORDER BY r.week")).all()
    engine.dispose()
    assert (json.loads(links) if isinstance(links, str) else links) == seen["alice"]
    assert [tuple(row) for row in texts] == [("2026-W46", "sent"), ("2026-W47", "failed"), ("2026-W48", "pending")]
