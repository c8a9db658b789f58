"""`initiative-bot playground`: the bot and the Slack emulator (`slack_emulator`) in one process, and a Slack-like
web page on 127.0.0.1 to use the bot as its users will, with no Slack workspace (docs/playground.md)."""
