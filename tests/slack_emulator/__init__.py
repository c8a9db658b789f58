"""Tests of the Slack emulator (the package `slack_emulator`)."""
