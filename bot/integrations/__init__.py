"""httpx clients for the world outside Slack: signed webhooks, evidence-link checks, MLflow's model registry.
Every request goes through `bot.integrations.http` (the SSRF guard), whose rules are `bot.integrations.targets`.

Also `slack_channels`: channels as people type them, resolved and checked with the bot's token (to SLACK_API_URL,
like every Slack call), before anything is stored."""
