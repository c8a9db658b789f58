"""Durable delivery to Slack: the outbox (written with the change that causes it) and its sender."""
