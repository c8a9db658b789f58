"""Every spelling of a private address (issue 22, item 7), and the DNS table that answers the names among them:
one table, run through registration against a running `serve` and through delivery and link checks in the test
process (tests/security/test_ssrf.py). No test depends on real DNS: `table_resolver` answers instead, in the test
process through `targets.resolve`, and in `serve` through tests/support/table_dns_bot.py."""

from __future__ import annotations

from bot.integrations import targets

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


def table_resolver() -> targets.Resolver:
    def resolve(host: str, port: int) -> list[str]:
        if host not in DNS:
            raise targets.OutboundFailed(f"{host} does not resolve (unknown name)")
        return list(DNS[host])
    return resolve
