"""Every spelling of a private address (issue 22, item 7), through both paths, from one table
(tests/support/private_addresses.py):
- registration, sent to a running `serve` as Slack would: `/initiative webhooks add <url>` and the evidence links
  of a checklist submission. serve answers names from the table (tests/support/table_dns_bot.py), never from real
  DNS, and runs no scheduler, so the admitted controls are never contacted;
- delivery and link checks (the webhook job, the evidence-link job, the guarded client), in the test process,
  where respx answers instead of the internet and the same table instead of DNS.
And each allow-list opens its own purpose only."""

from __future__ import annotations

import re
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.integrations import targets
from bot.integrations.evidence import check_links
from bot.integrations.http import guarded_client
from bot.integrations.targets import OutboundPolicy, evidence_policy, mlflow_policy, vet, webhook_policy
from bot.integrations.targets import resolve as system_resolve  # before any test replaces it
from bot.integrations.webhooks import deliver
from bot.services.errors import InvalidInput
from bot.services.initiatives.service import create_initiative
from bot.services.reviews import service as reviews
from bot.services.webhooks.evidence import mark_due
from bot.services.webhooks.scheduled import check_due_evidence, deliver_webhooks
from bot.services.webhooks.service import WebhookEvents, add_endpoint
from bot.views import ids
from slack_emulator.requests import ticked_all
from storage.models import AuditEvent, EvidenceCheck, SignOff, WebhookDelivery, WebhookEndpoint
from tests.security.conftest import ADMIN, Review, Target, open_review, serving_target
from tests.services.webhooks.support import OWNERS
from tests.services.webhooks.support import open_review as open_review_in_process
from tests.support.factories import TEAM, actor
from tests.support.private_addresses import ADMITTED, PUBLIC, SPELLINGS, table_resolver

TABLE_DNS_BOT = [sys.executable, "-m", "tests.support.table_dns_bot"]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """serve, its names answered from the table, without the scheduler: its webhook and evidence-check jobs
    would reach for the public controls, and the tests use only loopback."""
    workdir: Path = tmp_path_factory.mktemp("serve")
    with serving_target(workdir, f"sqlite:///{workdir / 'bot.db'}", "--no-scheduler", cli=TABLE_DNS_BOT) as target:
        yield target


@pytest.fixture(scope="module")
def review(target: Target) -> Review:
    return open_review(target, "Evidence vetted")


@pytest.fixture(scope="module")
def devs_checklist(target: Target, review: Review) -> dict[str, Any]:
    """UDEV's checklist modal, opened once: a refused submission leaves it open and changes nothing."""
    return target.checklist_opened_by("UDEV", review.request_dm(target, "UDEV"))


def evidence(links: list[str]) -> dict[str, Any]:
    return {ids.EVIDENCE_BLOCK: {ids.VALUE: {"type": "plain_text_input", "value": "\n".join(links)}}}


@pytest.mark.parametrize("url, reason", SPELLINGS)
def test_webhooks_add_refuses_every_spelling_and_stores_nothing(target: Target, url: str, reason: str) -> None:
    endpoints, audit_events = target.count(WebhookEndpoint), target.count(AuditEvent)

    answer = target.ask(f"webhooks add {url}", user=ADMIN)

    assert answer["text"].startswith("Cannot send webhooks there: ") and reason in answer["text"], answer
    assert (target.count(WebhookEndpoint), target.count(AuditEvent)) == (endpoints, audit_events)


@pytest.mark.parametrize("url, reason", SPELLINGS)
def test_an_evidence_link_of_any_spelling_is_refused_under_the_evidence_field(
    target: Target, devs_checklist: dict[str, Any], url: str, reason: str
) -> None:
    values = ticked_all(devs_checklist) | evidence(["https://hooks.example.com/card", url])

    answer = target.submit(devs_checklist, values, user="UDEV")

    assert answer["response_action"] == "errors" and list(answer["errors"]) == [ids.EVIDENCE_BLOCK], answer
    message = answer["errors"][ids.EVIDENCE_BLOCK]
    assert reason in message and "https://wiki.example.com/model-card" in message  # and how to do it right
    assert target.count(SignOff, SignOff.state != "pending") == 0
    assert target.count(EvidenceCheck) == 0


def test_public_targets_are_registered_through_both_surfaces(target: Target, review: Review) -> None:
    """The controls for the two tests above: serve refuses the spellings for what they are, not for being URLs."""
    for url in ADMITTED:
        assert target.ask(f"webhooks add {url}", user=ADMIN)["text"].startswith("Webhook "), url
    assert sorted(row.url for row in target.rows(WebhookEndpoint)) == sorted(ADMITTED)

    erins_checklist = target.checklist_opened_by("UERIN", review.request_dm(target, "UERIN"))
    assert target.submit(erins_checklist, ticked_all(erins_checklist) | evidence(ADMITTED), user="UERIN") == {}
    [approved] = target.rows(SignOff, SignOff.state == "approved")
    assert (approved.assignee, approved.evidence_links) == ("UERIN", ADMITTED)


@pytest.fixture
def table_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The resolver of every policy the bot builds from its settings (the webhook job, the evidence job)."""
    monkeypatch.setattr(targets, "resolve", table_resolver())


@pytest.mark.parametrize("url, reason", SPELLINGS)
def test_the_rule_set_refuses_every_spelling_with_its_reason(url, reason):
    with pytest.raises(targets.OutboundError, match=re.escape(reason)):
        vet(url, OutboundPolicy(resolve=table_resolver()))


@pytest.mark.parametrize("url", ADMITTED)
def test_the_rule_set_admits_public_targets(url):
    assert vet(url, OutboundPolicy(resolve=table_resolver())).addresses


def test_the_webhook_job_sends_nothing_to_any_spelling_and_still_delivers_the_good_endpoint(runtime, table_dns,
                                                                                              respx_mock):
    # Endpoints stored before these rules existed (or written by hand) are refused again at delivery.
    with runtime.transaction() as session:
        for url, _ in SPELLINGS:
            session.add(WebhookEndpoint(team_id=TEAM, url=url, secret="whsec_" + "A" * 32, created_by="UADMIN"))
        session.add(WebhookEndpoint(team_id=TEAM, url="https://hooks.example.com/x", secret="whsec_" + "A" * 32,
                                    created_by="UADMIN"))
    runtime.event_handlers.append(WebhookEvents())
    good = respx_mock.post(f"https://{PUBLIC}/x").respond(204)
    anything_else = respx_mock.route().respond(200)
    with runtime.transaction() as session:
        create_initiative(session, actor=actor("UBIZ"), title="Churn", owners=OWNERS)

    report = deliver_webhooks(runtime)

    assert (report.sent, report.retrying) == (1, len(SPELLINGS))
    assert good.call_count == 1 and not anything_else.called
    with runtime.transaction() as session:
        errors = {endpoint.url: endpoint.last_error for endpoint in session.exec(select(WebhookEndpoint))}
        assert all(delivery.attempts == 1 for delivery in session.exec(select(WebhookDelivery)))
    for url, reason in SPELLINGS:
        assert reason in errors[url]


def test_the_evidence_job_flags_every_spelling_and_still_checks_the_good_link(runtime, table_dns, respx_mock):
    good = respx_mock.get(f"https://{PUBLIC}/x").respond(200)
    anything_else = respx_mock.route().respond(200)
    urls = [url for url, _ in SPELLINGS] + ["https://hooks.example.com/x"]
    with runtime.transaction() as session:
        mark_due(session, team_id=TEAM, urls=urls)

    assert check_due_evidence(runtime) == len(urls)  # one batch: no spelling stops it

    assert good.called and not anything_else.called
    with runtime.transaction() as session:
        found = {row.url: (row.state, row.detail) for row in session.exec(select(EvidenceCheck))}
    assert found.pop("https://hooks.example.com/x") == ("ok", "HTTP 200")
    for url, reason in SPELLINGS:
        state, detail = found[url]
        assert state in ("blocked", "broken") and reason in detail, (url, state, detail)


@pytest.mark.parametrize("url, reason", SPELLINGS)
def test_a_delivery_to_any_spelling_sends_nothing(respx_mock, url, reason):
    anything = respx_mock.route().respond(200)
    with guarded_client(OutboundPolicy(resolve=table_resolver()), timeout=2) as client:
        attempt = deliver(client, url=url, secret="whsec_" + "A" * 32, message_id="msg_1", body=b"{}", timestamp=1)
    assert not attempt.ok and reason in (attempt.error or "")
    assert not anything.called


def test_an_unexpected_error_breaks_only_its_own_link(respx_mock):
    respx_mock.get(f"https://{PUBLIC}/fine").respond(200)
    respx_mock.get(f"https://{PUBLIC}/odd").mock(side_effect=RuntimeError("no rule foresaw this"))
    results = check_links(["https://hooks.example.com/odd", "https://hooks.example.com/fine"],
                          policy=OutboundPolicy(resolve=table_resolver()), timeout=2, concurrency=2)
    assert results["https://hooks.example.com/fine"].state == "ok"
    assert (results["https://hooks.example.com/odd"].state, results["https://hooks.example.com/odd"].detail) == (
        "broken", "could not be checked (RuntimeError)")


def test_the_evidence_allow_list_admits_evidence_links_and_never_webhooks(runtime, table_dns, respx_mock):
    runtime.settings = runtime.settings.model_copy(update={"evidence_allowed_hosts": frozenset({"localhost"}),
                                                           "webhook_allowed_hosts": frozenset()})
    wiki = respx_mock.get("http://127.0.0.1/wiki").respond(200)
    hook = respx_mock.post("http://127.0.0.1/hook").respond(204)

    with runtime.transaction() as session, pytest.raises(InvalidInput, match="http"):
        add_endpoint(session, actor=actor("UADMIN", admin=True), settings=runtime.settings,
                     url="http://localhost/hook")
    with runtime.transaction() as session, pytest.raises(InvalidInput, match="loopback"):
        add_endpoint(session, actor=actor("UADMIN", admin=True), settings=runtime.settings,
                     url="https://localhost/hook")
    assert vet("http://localhost/wiki", evidence_policy(runtime.settings)).addresses == ("127.0.0.1",)
    assert check_links(["http://localhost/wiki"], policy=evidence_policy(runtime.settings), timeout=2,
                       concurrency=1)["http://localhost/wiki"].state == "ok"
    assert wiki.called

    # A receiver at an evidence host (stored by hand) gets nothing either.
    with guarded_client(webhook_policy(runtime.settings), timeout=2) as client:
        attempt = deliver(client, url="http://localhost/hook", secret="whsec_" + "A" * 32, message_id="msg_1",
                          body=b"{}", timestamp=1)
    assert not attempt.ok and not hook.called


def test_the_webhook_allow_list_admits_receivers_and_never_evidence_links(runtime, table_dns):
    runtime.settings = runtime.settings.model_copy(update={"webhook_allowed_hosts": frozenset({".corp"}),
                                                           "evidence_allowed_hosts": frozenset()})
    open_review_in_process(runtime)
    with runtime.transaction() as session:
        add_endpoint(session, actor=actor("UADMIN", admin=True), settings=runtime.settings,
                     url="https://hooks.corp/initiatives")
    with pytest.raises(InvalidInput, match=r"wiki\.corp resolves to 10\.1\.2\.3"):
        reviews.check_evidence_links(["https://wiki.corp/dpia"], policy=evidence_policy(runtime.settings))


def test_the_mlflow_policy_admits_its_tracking_host_only(runtime):
    settings = runtime.settings.model_copy(update={
        "mlflow_tracking_uri": "https://mlflow.corp:5000", "evidence_allowed_hosts": frozenset({"wiki.corp"}),
        "webhook_allowed_hosts": frozenset({"hooks.corp"})})
    policy = mlflow_policy(settings)
    assert policy.admits_host("mlflow.corp")
    assert not policy.admits_host("wiki.corp") and not policy.admits_host("hooks.corp")
    assert not evidence_policy(settings).admits_host("mlflow.corp")
    assert not webhook_policy(settings).admits_host("mlflow.corp")


def test_the_system_resolver_is_bounded_and_says_why_a_name_failed(monkeypatch):
    monkeypatch.setattr(targets, "RESOLVE_SECONDS", 0.2)
    monkeypatch.setattr(targets.socket, "getaddrinfo", lambda *args, **kwargs: time.sleep(1) or [])
    with pytest.raises(targets.OutboundFailed, match=r"slow\.example\.com did not resolve within 0\.2 s"):
        system_resolve("slow.example.com", 443)

    def unknown(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(targets.socket, "getaddrinfo", unknown)
    with pytest.raises(targets.OutboundFailed, match=r"gone\.example\.com does not resolve \(Name or service"):
        system_resolve("gone.example.com", 443)


def test_links_are_vetted_side_by_side_within_one_bound(monkeypatch):
    """An approval must be answered within Slack's 3 s however many links it carries: the names are resolved at
    once, and what has not resolved by the bound is refused (here each lookup would take 1 s, the bound 0.1 s)."""
    monkeypatch.setattr(targets, "RESOLVE_SECONDS", 0.1)

    def slow(host: str, port: int) -> list[str]:
        time.sleep(1)
        return [PUBLIC]
    urls = [f"https://docs{n}.example.com/card" for n in range(6)] + ["https://0x7f.1/"]
    problems = targets.vet_each(urls, OutboundPolicy(resolve=slow))
    assert [str(problem) for problem in problems[:6]] == [
        f"docs{n}.example.com did not resolve within 0.1 s" for n in range(6)]
    assert "non-standard spelling" in str(problems[6])
    assert targets.vet_each(urls, None)[:6] == [None] * 6  # without a policy, names are not resolved
