"""`/initiative` command text -> typed commands, and the registry of subcommands. Pure: no Slack, no database."""
