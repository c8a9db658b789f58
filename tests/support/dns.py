"""A DNS table for the tests of outbound requests: they never touch the real network. respx answers every request,
and `resolve` (the guarded transport's only DNS step) answers from this table; a conftest that imports `fake_dns`
puts it in force for its package."""

from __future__ import annotations

import pytest

from bot.integrations import targets

# Public addresses (the checks only look at the address; respx answers instead of any real server).
PUBLIC = {"hooks.example.com": "93.184.215.14", "docs.example.com": "93.184.215.15",
          "mlflow.example.com": "93.184.215.16", "intranet.corp": "10.1.2.3", "sneaky.example.com": "127.0.0.1"}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    table = dict(PUBLIC)
    looked_up: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        if host not in table:
            raise targets.OutboundFailed(f"{host} does not resolve (unknown name)")
        return [table[host]]

    monkeypatch.setattr(targets, "resolve", resolve)
    return table
