"""Pure Block Kit builders (slack_sdk.models): data in, blocks out, no queries. `ids.py` names every id."""
