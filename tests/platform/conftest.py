import pytest

from tests.support import slack_calls
from tests.support.slack_app import slack_app, slack_emulator  # noqa: F401  (fixtures for this package)

slack_calls.install()  # at collection, before any test of any package runs

SCOPE_TEST = "test_manifest_asks_only_for_scopes_the_recorded_calls_need"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The scope test compares against every call the run recorded, so it runs last."""
    items.sort(key=lambda item: item.name.startswith(SCOPE_TEST))
