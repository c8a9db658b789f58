"""httpx clients for the world outside Slack: signed webhooks, evidence-link checks, MLflow's model registry.

Every request goes through `bot.integrations.http` (the SSRF guard), whose rules are `bot.integrations.targets`."""
