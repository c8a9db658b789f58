"""Every spelling of a private address, through both paths: registration (`webhooks add`, evidence links on an
approval) and delivery/check (the webhook job, the evidence-link job, the guarded client). One table; names are
answered by a resolver the test injects, never by real DNS. And each allow-list opens its own purpose only."""

from __future__ import annotations

import re
import socket
import time

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
from storage.models import EvidenceCheck, GateReview, SignOff, WebhookDelivery, WebhookEndpoint
from tests.listeners.conftest import Slack, slack  # noqa: F401 - the bot over real HTTP, as in tests/surface
from tests.listeners.test_sign_off_round_trip import open_review as open_surface_review
from tests.listeners.test_sign_off_round_trip import request_dm
from tests.services.webhooks.support import OWNERS, open_review
from tests.support.factories import TEAM, actor
from tests.support.slack_app import slack_emulator  # noqa: F401 - a fixture of `slack`
from tests.support.slack_requests import button, ticked_all

PUBLIC = "93.184.215.14"
DNS = {
    "hooks.example.com": [PUBLIC],
    "internal.example.com": ["10.0.0.5"],
    "metadata.example.com": ["169.254.169.254"],
    "mixed.example.com": [PUBLIC, "127.0.0.1"],  # every address must be public, not just the first
    "nat64.example.com": ["64:ff9b::a00:5"],
    "localhost": ["127.0.0.1"],
    "api.localhost": ["127.0.0.1"],
    "wiki.corp": ["10.1.2.3"],
    "hooks.corp": ["10.9.9.9"],
}

# (URL, what the refusal says). All https, so only the rule under test can refuse them.
SPELLINGS = [
    ("https://localhost/x", "loopback"),
    ("https://localhost./x", "loopback"),
    ("https://LocalHost/x", "loopback"),
    ("https://api.localhost/x", "loopback"),
    ("https://2130706433/x", "non-standard spelling of the IP address 127.0.0.1"),
    ("https://0x7f000001/x", "non-standard spelling of the IP address 127.0.0.1"),
    ("https://0x7f.1/x", "non-standard spelling of the IP address 127.0.0.1"),
    ("https://127.1/x", "non-standard spelling of the IP address 127.0.0.1"),
    ("https://0177.0.0.1/x", "non-standard spelling of the IP address 127.0.0.1"),
    ("https://0/x", "non-standard spelling of the IP address 0.0.0.0"),
    ("https://0x7f.0.0.0x100/x", "not a valid IP address"),
    ("https://127.0.0.1./x", "127.0.0.1 is not a public address"),
    ("https://127.0.0.1/x", "127.0.0.1 is not a public address"),
    ("https://10.0.0.8/x", "10.0.0.8 is not a public address"),
    ("https://169.254.169.254/latest", "169.254.169.254 is not a public address"),
    ("https://100.64.0.1/x", "100.64.0.1 is not a public address"),
    ("https://[::1]/x", "::1 is not a public address"),
    ("https://[fe80::1%25eth0]/x", "IPv6 zone"),
    ("https://[::ffff:127.0.0.1]/x", "carries 127.0.0.1"),
    ("https://[::127.0.0.1]/x", "carries 127.0.0.1"),
    ("https://[64:ff9b::7f00:1]/x", "carries 127.0.0.1"),
    ("https://[64:ff9b::a9fe:a9fe]/x", "carries 169.254.169.254"),
    ("https://[64:ff9b:1::a00:1]/x", "not a public address"),
    ("https://[2002:7f00:1::]/x", "carries 127.0.0.1"),
    ("https://[2002:a00:1::1]/x", "carries 10.0.0.1"),
    ("https://internal.example.com/x", "resolves to 10.0.0.5"),
    ("https://metadata.example.com/x", "resolves to 169.254.169.254"),
    ("https://mixed.example.com/x", "resolves to 127.0.0.1"),
    ("https://nat64.example.com/x", "carries 10.0.0.5"),
    ("https://nowhere.example.com/x", "does not resolve"),
    ("https://hooks.example.com:70000/x", "port is not a number from 1 to 65535"),
    ("https://hooks.example.com:0/x", "port is not a number from 1 to 65535"),
    ("https://hooks.example.com:-1/x", "port is not a number from 1 to 65535"),
    ("https://foo.123/x", "neither a host name nor an IP address"),
]
# Controls: the rules must not refuse these (an IPv6 address carrying a public IPv4 one is public).
ADMITTED = ["https://hooks.example.com/x", "https://hooks.example.com:8443/x", f"https://{PUBLIC}/x",
            "https://[2002:5db8:d70e::1]/x", "https://[64:ff9b::5db8:d70e]/x"]


def table_resolver(looked_up: list[str] | None = None) -> targets.Resolver:
    def resolve(host: str, port: int) -> list[str]:
        if looked_up is not None:
            looked_up.append(host)
        if host not in DNS:
            raise targets.OutboundFailed(f"{host} does not resolve (unknown name)")
        return list(DNS[host])
    return resolve


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


def test_registration_refuses_every_spelling_for_webhooks_and_evidence_links(runtime, table_dns):
    admin = actor("UADMIN", admin=True)
    _, _, sign_offs = open_review(runtime)
    refused: dict[str, tuple[str, str]] = {}
    for url, _ in SPELLINGS:
        with runtime.transaction() as session, pytest.raises(InvalidInput) as webhook_refusal:
            add_endpoint(session, actor=admin, settings=runtime.settings, url=url)
        with pytest.raises(InvalidInput) as link_refusal:
            reviews.check_evidence_links([url], policy=evidence_policy(runtime.settings))
        refused[url] = (str(webhook_refusal.value), str(link_refusal.value))
    for url, reason in SPELLINGS:
        webhook_message, link_message = refused[url]
        assert reason in webhook_message and webhook_message.startswith("Cannot send webhooks there: ")
        assert reason in link_message and "https://wiki.example.com/model-card" in link_message
        assert "link" in link_message  # so the checklist modal shows it under the evidence field
    with runtime.transaction() as session:
        assert session.exec(select(WebhookEndpoint)).all() == []
        links = reviews.check_evidence_links(ADMITTED, policy=evidence_policy(runtime.settings))
        approved = reviews.approve(session, actor=actor("UDATA"), sign_off_id=sign_offs["data"],
                                   ticked=_all_items(session, sign_offs["data"]), evidence_links=links)
        assert approved.sign_off.evidence_links == ADMITTED


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
    open_review(runtime)
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


def _all_items(session, sign_off_id: int) -> list[str]:
    sign_off = session.get(SignOff, sign_off_id)
    return [item.id for item in reviews.checklist_of(session, sign_off, session.get(GateReview, sign_off.review_id))]


def test_the_checklist_modal_shows_a_private_evidence_link_under_the_evidence_field(slack: Slack, runtime,  # noqa: F811
                                                                                     table_dns) -> None:
    open_surface_review(slack)
    dm = request_dm(slack, "UDEV")
    slack.click(ids.APPROVE, button(dm, ids.APPROVE)["value"], user="UDEV", message=dm, channel=dm["channel"])
    modal = slack.opened_modal()
    values = ticked_all(modal)
    for link, reason in (("http://0177.0.0.1/admin", "non-standard spelling of the IP address 127.0.0.1"),
                         ("https://internal.example.com/card", "resolves to 10.0.0.5")):
        values[ids.EVIDENCE_BLOCK] = {ids.VALUE: {"type": "plain_text_input",
                                                  "value": f"https://hooks.example.com/card\n{link}"}}
        answer = slack.submit(modal, values, user="UDEV")
        assert answer["response_action"] == "errors" and list(answer["errors"]) == [ids.EVIDENCE_BLOCK]
        assert reason in answer["errors"][ids.EVIDENCE_BLOCK]
    with runtime.transaction() as session:
        assert {s.state for s in session.exec(select(SignOff))} == {"pending"}
    values[ids.EVIDENCE_BLOCK] = {ids.VALUE: {"type": "plain_text_input", "value": "https://hooks.example.com/card"}}
    assert slack.submit(modal, values, user="UDEV") == {}


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
