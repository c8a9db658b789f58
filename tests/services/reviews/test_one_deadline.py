"""A sign-off's deadline is one instant: the sign-off DM, the nudge, the escalation, the digest and `show` all
carry it (in Slack's `<!date^…>` token), and every fallback gives that instant on its reader's clock, saying
which zone (or the digest's, in a channel). Real zones: Kolkata (UTC+5:30) and New York."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.nudges import run_sweep
from bot.presenters import initiative_card, sign_off_card
from bot.services.access.people import record_profile
from bot.services.digest.service import channel_audience, compute_digest
from bot.services.initiatives.service import create_initiative
from bot.services.reviews import service as reviews
from bot.views.digest import digest_blocks, digest_in_full
from bot.views.messages import sign_off_request
from bot.views.nudges import ITEM_BLOCK, nudge_message
from bot.views.plain_text import Reader, render_blocks
from storage.models import Digest, Initiative, SignOff
from tests.support.factories import TEAM, actor

KOLKATA, NEW_YORK = ZoneInfo("Asia/Kolkata"), ZoneInfo("America/New_York")
# Thursday 20:00 UTC is already Friday 01:30 in Kolkata: counted there, 5 business days end Friday 4 Dec, 17:00
# Kolkata; counted in UTC or Berlin they would end on Thursday, a day earlier.
REQUESTED = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 12, 4, 17, 0, tzinfo=KOLKATA)
NUDGED_AT = datetime(2026, 12, 1, 10, 0, tzinfo=KOLKATA)  # Tuesday: its second business day, her working hours
ESCALATED_AT = datetime(2026, 12, 7, 10, 0, tzinfo=NEW_YORK)  # Monday after the deadline, in the sponsor's hours
OWNERS = {"business": "UNYC", "data": "UKOL", "engineering": "UENG", "sponsor": "USPONSOR"}
_DATE = re.compile(r"<!date\^(\d+)\^[^|>]*\|([^>]*)>")


def _dates(text: str) -> list[tuple[int, str]]:
    return [(int(unix), fallback) for unix, fallback in _DATE.findall(text)]


def _line_about(blocks: Sequence[Any], needle: str, *, whole: bool = False) -> str:
    """The one line of text (or `whole` text) in any block that mentions `needle`."""
    def texts(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield from [value] if key == "text" and isinstance(value, str) else texts(value)
        elif isinstance(node, list):
            for value in node:
                yield from texts(value)

    dicts = [block if isinstance(block, dict) else block.to_dict() for block in blocks]
    (line,) = [line for text in texts(dicts) for line in ([text] if whole else text.split("\n")) if needle in line]
    return line


def _fallback_is_right(unix: int, fallback: str) -> bool:
    """`Fri 2026-12-04 17:00 Asia/Kolkata`: that wall-clock time in that zone is the token's instant."""
    day, wall, zone = fallback.split(" ")[1:]
    return datetime.fromisoformat(f"{day}T{wall}").replace(tzinfo=ZoneInfo(zone)).timestamp() == unix


@pytest.fixture
def sign_off_id(runtime) -> int:  # type: ignore[no-untyped-def]
    with runtime.transaction() as session:
        for user_id, zone in {"UKOL": KOLKATA, "UNYC": NEW_YORK, "USPONSOR": NEW_YORK}.items():
            record_profile(session, team_id=TEAM, user_id=user_id, tz=zone.key, now=REQUESTED)
        initiative = create_initiative(session, actor=actor("UNYC"), title="Claims triage", owners=OWNERS,
                                       now=REQUESTED)
        review = reviews.submit_for_next_gate(session, actor=actor("UNYC"), initiative=initiative, now=REQUESTED)
        return next(s.id for s in reviews.sign_offs_of(session, review_id=review.id) if s.assignee == "UKOL")


def test_the_dm_nudge_escalation_digest_and_show_carry_one_deadline(runtime, sign_off_id):
    zone = runtime.settings.default_zone
    with runtime.read() as session:
        dm = sign_off_request(sign_off_card(session, session.get(SignOff, sign_off_id), default_zone=zone))
        initiative = session.get(Initiative, 1)
        show_to = {reader: initiative_card(session, initiative, default_zone=zone, reader=reader)
                   for reader in ("UKOL", "UNYC")}
        digest = Digest(team_id=TEAM, name="weekly", channel_id="C1", timezone="Europe/Berlin", created_by="U1")
        report = compute_digest(session, digest=digest, as_of=ESCALATED_AT, audience=channel_audience(digest),
                                default_zone=zone)
    nudges = {n.recipient: n for t in run_sweep(runtime, now=NUDGED_AT, send=False).teams for n in t.plan.notices}
    escalations = {n.recipient: n for t in run_sweep(runtime, now=ESCALATED_AT, send=False).teams
                   for n in t.plan.notices if n.kind == "escalation"}

    item = f"{ITEM_BLOCK}{sign_off_id}"
    due_in = {
        "DM": _line_about(dm.blocks, "*Due*", whole=True),  # a field: its label, then its value
        "nudge": next(b["text"]["text"] for b in nudge_message(nudges["UKOL"]).blocks if b.get("block_id") == item),
        "escalation": next(b["text"]["text"] for b in nudge_message(escalations["USPONSOR"]).blocks
                           if b.get("block_id") == item),
        "digest": _line_about(digest_blocks(report), "<@UKOL>"),
        "show to her": _line_about(show_to["UKOL"].blocks, "(<@UKOL>)"),
        "show to him": _line_about(show_to["UNYC"].blocks, "(<@UKOL>)"),
    }

    assert {where: _dates(text)[-1] for where, text in due_in.items()} == {
        "DM": (int(DEADLINE.timestamp()), "Fri 2026-12-04 17:00 Asia/Kolkata"),
        "nudge": (int(DEADLINE.timestamp()), "Fri 2026-12-04 17:00 Asia/Kolkata"),
        "escalation": (int(DEADLINE.timestamp()), "Fri 2026-12-04 06:30 America/New_York"),
        "digest": (int(DEADLINE.timestamp()), "Fri 2026-12-04 12:30 Europe/Berlin"),  # a channel: its zone
        "show to her": (int(DEADLINE.timestamp()), "Fri 2026-12-04 17:00 Asia/Kolkata"),
        "show to him": (int(DEADLINE.timestamp()), "Fri 2026-12-04 06:30 America/New_York"),
    }
    assert "due Fri 2026-12-04 17:00 Asia/Kolkata" in dm.text  # the notification's plain text
    terminal = render_blocks(digest_in_full(report), Reader(zone=ZoneInfo("Europe/Berlin")))  # the digest's zone
    assert "due Dec 4, 2026 at 12:30 CET" in terminal
    assert "Overdue" in due_in["escalation"] and "Due" in due_in["nudge"]


def test_every_fallback_gives_its_instant_in_the_zone_it_names(runtime, sign_off_id):
    zone = runtime.settings.default_zone
    with runtime.read() as session:
        sign_off = session.get(SignOff, sign_off_id)
        texts = [str(sign_off_request(sign_off_card(session, sign_off, default_zone=zone)).blocks),
                 str(initiative_card(session, session.get(Initiative, 1), default_zone=zone, reader="UNYC").blocks),
                 str(initiative_card(session, session.get(Initiative, 1), default_zone=zone, reader=None).blocks)]
    for now in (NUDGED_AT, ESCALATED_AT):
        texts += [str(nudge_message(n).blocks) for t in run_sweep(runtime, now=now, send=False).teams
                  for n in t.plan.notices]

    tokens = [token for text in texts for token in _dates(text)]
    assert len(tokens) > 10
    assert [token for token in tokens if not _fallback_is_right(*token)] == []
    assert {fallback.rsplit(" ", 1)[1] for _, fallback in tokens} == {"Asia/Kolkata", "America/New_York", "UTC"}
