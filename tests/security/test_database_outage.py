"""Slack's deadlines hold while PostgreSQL stalls or is down (issue 22, items 4 and 5), against a running `serve`.

serve reaches its PostgreSQL database through a proxy the test pauses (a network-level stall: connections stay
open, the kernel still acknowledges what serve sends, and nothing comes back) or closes (the database refuses
connections). The deadlines asserted are Slack's and the load balancer's, as issue 22 states them: Slack's answer
within 3 s (measured here on loopback, so with no network in between), `/healthz` within 1 s.

That every listener thread may wait for a stalled database while clicks are still acknowledged needs a listener
pool smaller than serve's, so it stays in the test process (tests/app/test_database_outage.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.views import ids
from slack_emulator.requests import post_signed, ticked_all, view_submission_payload
from storage.models import SignOff
from tests.security.conftest import Target, button_value, open_review, serving_target
from tests.support.postgres import scratch_database
from tests.support.slack_app import SIGNING_SECRET
from tests.support.tcp_proxy import TcpProxy

ANSWER_WITHIN = 3.0  # Slack's deadline
HEALTHZ_WITHIN = 1.0
# After the stall, what serve sent before it gave up reaches PostgreSQL: long enough for a COMMIT held in the
# proxy to be refused (or, were the deadline not enforced, recorded) and its connection to end.
SETTLE_SECONDS = 2


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Target, TcpProxy]]:
    with scratch_database("ib_outage") as database_url:
        url = make_url(database_url)
        with TcpProxy(url.host or "127.0.0.1", url.port or 5432, lifetime=900) as proxy:
            proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
            with serving_target(tmp_path_factory.mktemp("serve"), proxied, "--workers", "1") as target:
                yield target, proxy


@pytest.fixture
def target(served: tuple[Target, TcpProxy]) -> Target:
    return served[0]


@pytest.fixture
def proxy(served: tuple[Target, TcpProxy]) -> Iterator[TcpProxy]:
    """The proxy in front of serve's database, forwarding again after each test, whatever the test did."""
    yield served[1]
    served[1].resume()


def sign_off_state(target: Target, dm: dict[str, Any]) -> str:
    """The state of the sign-off a request DM asks for (read through the proxy: while the database answers)."""
    [sign_off] = target.rows(SignOff, SignOff.id == int(button_value(dm, ids.APPROVE)))
    return sign_off.state


@pytest.mark.deadline
@pytest.mark.slow
def test_a_checklist_submitted_while_the_database_stalls_is_refused_in_time_and_never_recorded_later(
    target: Target, proxy: TcpProxy
) -> None:
    dm = open_review(target, "Stalled approval").request_dm(target, "UDEV")
    modal = target.checklist_opened_by("UDEV", dm)
    submission = view_submission_payload(modal["callback_id"], ticked_all(modal), modal["private_metadata"],
                                         "UDEV", view=modal)

    proxy.pause()
    started = time.monotonic()
    response = target.interact(submission)
    answered_after = time.monotonic() - started
    proxy.resume()  # whatever serve sent before giving up reaches the database now
    time.sleep(SETTLE_SECONDS)

    assert response.status_code == 200, response.text
    assert answered_after < ANSWER_WITHIN
    answer = response.json()
    assert answer["response_action"] == "push" and "nothing was changed" in str(answer["view"]["blocks"])
    assert sign_off_state(target, dm) == "pending"
    # The database is back: the same checklist, submitted again, is recorded.
    assert target.submit(modal, ticked_all(modal), user="UDEV") == {}
    assert sign_off_state(target, dm) == "approved"


@pytest.mark.deadline
def test_an_approve_click_while_the_database_refuses_is_acknowledged_then_explained_privately(
    target: Target, proxy: TcpProxy
) -> None:
    dm = open_review(target, "Refused approval").request_dm(target, "UDEV")
    modals_before = len(target.emulator.calls_to("views.open"))

    proxy.refuse()
    started = time.monotonic()
    response_url = target.click(ids.APPROVE, button_value(dm, ids.APPROVE), user="UDEV", dm=dm)  # asserts the 200
    acknowledged_after = time.monotonic() - started
    [told] = target.emulator.wait_for_responses(response_url)

    assert acknowledged_after < ANSWER_WITHIN
    assert told["response_type"] == "ephemeral" and "nothing was changed" in told["text"]
    assert len(target.emulator.calls_to("views.open")) == modals_before  # no checklist without the database


@pytest.mark.deadline
def test_healthz_answers_within_1_s_while_the_database_stalls_and_while_it_refuses(
    target: Target, proxy: TcpProxy
) -> None:
    """Liveness only: a load balancer restarts what fails it, and a database outage must not restart every
    replica. A command waits for the database meanwhile."""
    for stop_the_database in (proxy.pause, proxy.refuse):
        stop_the_database()
        try:
            waiting = post_signed(target.events_url, target.command("list"), SIGNING_SECRET)
            started = time.monotonic()
            health = httpx.get(target.bot.url + "/healthz", timeout=5)
            answered_after = time.monotonic() - started
        finally:
            proxy.resume()

        assert waiting.status_code == 200
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        assert answered_after < HEALTHZ_WITHIN, f"{answered_after:.2f} s after proxy.{stop_the_database.__name__}()"
