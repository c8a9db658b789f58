"""The bot served over HTTP against the Slack emulator, as the surface tests drive it."""

from tests.listeners.conftest import slack  # noqa: F401
from tests.support.slack_app import slack_emulator  # noqa: F401
