"""Outbound requests answer from the DNS table in tests/support/dns.py."""

from tests.support.dns import fake_dns  # noqa: F401  (autouse fixture for this package)
