"""Domain rules. Nothing here imports Slack: services take a session and plain values, and raise DomainError."""
