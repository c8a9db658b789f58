"""Each allow-list opens its own purpose only (issue 22, item 7), sent to a running `serve` as Slack would.

`EVIDENCE_ALLOWED_HOSTS` names intranet hosts that evidence links may point at, `WEBHOOK_ALLOWED_HOSTS` those that
webhook receivers may use; both resolve to private addresses by design (the DNS table of
tests/support/private_addresses.py answers, never real DNS). An admin's `/initiative webhooks add` and an owner's
evidence links must each be admitted by their own list and refused by the other's."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.views import ids
from slack_emulator.requests import ticked_all
from storage.models import SignOff, WebhookEndpoint
from tests.security.conftest import ADMIN, Review, Target, open_review, serving_target

TABLE_DNS_BOT = [sys.executable, "-m", "tests.support.table_dns_bot"]
WIKI = "https://wiki.corp/dpia"  # 10.1.2.3, an evidence host
HOOKS = "https://hooks.corp/initiatives"  # 10.9.9.9, a webhook receiver


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    workdir: Path = tmp_path_factory.mktemp("serve")
    allow_lists = {"EVIDENCE_ALLOWED_HOSTS": "wiki.corp", "WEBHOOK_ALLOWED_HOSTS": "hooks.corp"}
    with serving_target(workdir, f"sqlite:///{workdir / 'bot.db'}", "--no-scheduler", cli=TABLE_DNS_BOT,
                        settings=allow_lists) as target:
        yield target


def evidence(links: list[str]) -> dict[str, Any]:
    return {ids.EVIDENCE_BLOCK: {ids.VALUE: {"type": "plain_text_input", "value": "\n".join(links)}}}


def test_a_webhook_receiver_may_be_on_the_webhook_list_and_never_on_the_evidence_list(target: Target) -> None:
    refused = target.ask(f"webhooks add {WIKI}", user=ADMIN)["text"]
    assert refused.startswith("Cannot send webhooks there: ") and "10.1.2.3" in refused, refused
    assert target.count(WebhookEndpoint) == 0

    assert target.ask(f"webhooks add {HOOKS}", user=ADMIN)["text"].startswith("Webhook ")
    assert [row.url for row in target.rows(WebhookEndpoint)] == [HOOKS]


def test_an_evidence_link_may_be_on_the_evidence_list_and_never_on_the_webhook_list(target: Target) -> None:
    review: Review = open_review(target, "Intranet evidence")
    checklist = target.checklist_opened_by("UDEV", review.request_dm(target, "UDEV"))

    refused = target.submit(checklist, ticked_all(checklist) | evidence([HOOKS]), user="UDEV")
    assert list(refused.get("errors", {})) == [ids.EVIDENCE_BLOCK] and "10.9.9.9" in refused["errors"][
        ids.EVIDENCE_BLOCK], refused
    assert target.count(SignOff, SignOff.state != "pending") == 0

    assert target.submit(checklist, ticked_all(checklist) | evidence([WIKI]), user="UDEV") == {}
    [approved] = target.rows(SignOff, SignOff.state == "approved")
    assert (approved.assignee, approved.evidence_links) == ("UDEV", [WIKI])
