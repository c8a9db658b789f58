"""The SSRF guard and the capped, redirect-checking fetch, over respx (no real network)."""

from __future__ import annotations

import httpx
import pytest

from bot.integrations.http import OutboundFailed, OutboundPolicy, OutboundRefused, fetch, guarded_client

STRICT = OutboundPolicy()


def client(policy: OutboundPolicy = STRICT) -> httpx.Client:
    return guarded_client(policy, timeout=2)


def test_connects_to_the_checked_address_with_the_real_name_for_host_and_tls(respx_mock):
    route = respx_mock.get("https://93.184.215.15/card").respond(200, text="model card")
    answer = fetch(client(), "GET", "https://docs.example.com/card")
    assert answer.status_code == 200 and answer.body == b"model card"
    sent = route.calls.last.request
    assert sent.headers["host"] == "docs.example.com"
    assert sent.extensions["sni_hostname"] == "docs.example.com"


def test_a_name_resolving_to_loopback_is_refused_and_nothing_is_sent(respx_mock):
    anything = respx_mock.route().respond(200)
    with pytest.raises(OutboundRefused, match=r"127\.0\.0\.1"):
        fetch(client(), "GET", "https://sneaky.example.com/admin")
    assert not anything.called


@pytest.mark.parametrize("url", ["https://127.0.0.1/", "https://10.0.0.8/x", "https://[::1]/", "https://169.254.169.254/",
                                 "https://[::ffff:192.168.1.1]/", "https://100.64.0.1/"])
def test_non_public_literal_addresses_are_refused(respx_mock, url):
    anything = respx_mock.route().respond(200)
    with pytest.raises(OutboundRefused):
        fetch(client(), "GET", url)
    assert not anything.called


def test_plain_http_is_refused_unless_allowed(respx_mock):
    route = respx_mock.get("http://93.184.215.15/card").respond(200)
    with pytest.raises(OutboundRefused, match="https"):
        fetch(client(), "GET", "http://docs.example.com/card")
    assert not route.called
    assert fetch(client(OutboundPolicy(allow_http=True)), "GET", "http://docs.example.com/card").status_code == 200


def test_a_redirect_to_the_metadata_address_is_refused_before_it_is_followed(respx_mock):
    respx_mock.get("https://93.184.215.15/card").respond(302, headers={"location": "https://169.254.169.254/latest"})
    metadata = respx_mock.route(host="169.254.169.254").respond(200, text="secrets")
    with pytest.raises(OutboundRefused, match=r"169\.254\.169\.254"):
        fetch(client(), "GET", "https://docs.example.com/card")
    assert not metadata.called


def test_a_redirect_to_a_name_resolving_to_loopback_is_refused(respx_mock):
    respx_mock.get("https://93.184.215.15/card").respond(301, headers={"location": "https://sneaky.example.com/"})
    loopback = respx_mock.route(host="127.0.0.1").respond(200)
    with pytest.raises(OutboundRefused):
        fetch(client(), "GET", "https://docs.example.com/card")
    assert not loopback.called


def test_redirects_are_followed_with_each_hop_checked(respx_mock):
    respx_mock.get("https://93.184.215.15/old").respond(301, headers={"location": "/new"})
    respx_mock.get("https://93.184.215.15/new").respond(200, text="here")
    answer = fetch(client(), "GET", "https://docs.example.com/old")
    assert answer.body == b"here" and answer.url == "https://docs.example.com/new"


def test_a_redirect_loop_fails(respx_mock):
    respx_mock.get("https://93.184.215.15/a").respond(302, headers={"location": "/b"})
    respx_mock.get("https://93.184.215.15/b").respond(302, headers={"location": "/a"})
    with pytest.raises(OutboundFailed, match="loop"):
        fetch(client(), "GET", "https://docs.example.com/a")


def test_a_timeout_fails(respx_mock):
    respx_mock.get("https://93.184.215.15/slow").mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(OutboundFailed, match="did not answer in time"):
        fetch(client(), "GET", "https://docs.example.com/slow")


def test_a_tls_error_fails_with_a_readable_reason(respx_mock):
    respx_mock.get("https://93.184.215.15/").mock(
        side_effect=httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"))
    with pytest.raises(OutboundFailed, match="TLS certificate could not be verified"):
        fetch(client(), "GET", "https://docs.example.com/")


def test_an_oversized_body_fails_instead_of_being_read(respx_mock):
    respx_mock.get("https://93.184.215.15/big").respond(200, content=b"x" * 2048)
    with pytest.raises(OutboundFailed, match="larger than 1024 bytes"):
        fetch(client(), "GET", "https://docs.example.com/big", max_bytes=1024)


def test_a_streamed_body_without_length_is_cut_at_the_cap(respx_mock):
    chunks = httpx.ByteStream(b"y" * 4096)
    respx_mock.get("https://93.184.215.15/stream").mock(return_value=httpx.Response(200, stream=chunks))
    with pytest.raises(OutboundFailed, match="larger than"):
        fetch(client(), "GET", "https://docs.example.com/stream", max_bytes=1000)


def test_allow_listed_intranet_host_is_admitted(respx_mock):
    route = respx_mock.get("http://10.1.2.3/wiki").respond(200)
    with pytest.raises(OutboundRefused):
        fetch(client(), "GET", "https://intranet.corp/wiki")
    policy = OutboundPolicy(allowed_hosts=frozenset({".corp"}))
    assert fetch(client(policy), "GET", "http://intranet.corp/wiki").status_code == 200
    assert route.called
