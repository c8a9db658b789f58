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
    assert capsys.readouterr().err.strip() == ("initiative-bot: Cannot send webhooks there: hooks.example.com is "
                                               "addressed over plain http; only https:// is allowed; use a public "
                                               "https:// URL.")
