"""The weekly pilot-to-production digest: definitions, metrics, schedule. No Slack imports here."""
