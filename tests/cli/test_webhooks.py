"""`initiative-bot webhooks add|list|remove` on both backends."""

from __future__ import annotations

from bot.cli import main


def test_add_list_remove(runtime, capsys):
    assert main(["webhooks", "add", "https://hooks.example.com/x", "review.opened"]) == 0
    added = capsys.readouterr().out
    assert "Webhook 1 registered: https://hooks.example.com/x receives review.opened." in added
    assert "whsec_" in added

    assert main(["webhooks", "list"]) == 0
    listed = capsys.readouterr().out
    assert listed.strip() == "1. https://hooks.example.com/x - review.opened - enabled" and "whsec_" not in listed

    assert main(["webhooks", "remove", "1"]) == 0
    assert "removed" in capsys.readouterr().out
    assert main(["webhooks", "remove", "1"]) == 1
    assert capsys.readouterr().err.strip() == (
        "initiative-bot: There is no webhook '1'; `webhooks list` shows their numbers.")


def test_a_plain_http_url_is_refused_in_one_line(runtime, capsys):
    assert main(["webhooks", "add", "http://hooks.example.com/x"]) == 1
    assert capsys.readouterr().err.strip() == (
        "initiative-bot: Cannot send webhooks there: hooks.example.com is addressed over plain http; only https:// "
        "is allowed. Use a public https:// URL such as https://hooks.example.com/initiatives (or a host in "
        "WEBHOOK_ALLOWED_HOSTS).")


def test_an_address_httpx_cannot_parse_is_one_clear_refusal_not_an_unexpected_error(runtime, capsys):
    assert main(["webhooks", "add", "https://0177.0.0.1/"]) == 1
    assert capsys.readouterr().err.strip() == (
        "initiative-bot: Cannot send webhooks there: 0177.0.0.1 is a non-standard spelling of the IP address "
        "127.0.0.1; write IP addresses as four decimal numbers. Use a public https:// URL such as "
        "https://hooks.example.com/initiatives (or a host in WEBHOOK_ALLOWED_HOSTS).")
    assert main(["webhooks", "list"]) == 0
    assert "No webhooks are registered" in capsys.readouterr().out


def test_characters_that_spoof_display_are_not_stored_in_a_webhook_url(runtime, capsys):
    assert main(["webhooks", "add", "https://hooks.example.com/\u202einitiatives\u200b"]) == 0
    capsys.readouterr()
    assert main(["webhooks", "list"]) == 0
    assert capsys.readouterr().out.strip() == "1. https://hooks.example.com/initiatives - all events - enabled"
