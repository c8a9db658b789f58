"""Reading Block Kit in assertions."""

from __future__ import annotations


def mrkdwn_texts(node: object) -> list[str]:
    """Every mrkdwn string in a block tree: what Slack parses for mentions, broadcasts and links."""
    if isinstance(node, list):
        return [text for item in node for text in mrkdwn_texts(item)]
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [text for value in node.values() for text in mrkdwn_texts(value)]
    return []
