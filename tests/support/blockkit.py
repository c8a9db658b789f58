"""Reading Block Kit in assertions, and scanning what the bot sent Slack for mentions it did not mean."""

from __future__ import annotations

import re
from collections.abc import Iterable

from slack_emulator import SlackEmulator

# Mentions that notify more people than the bot ever means to: broadcasts and user groups, in every spelling Slack
# parses (`<!here>`, `<!here|here>`, `<!channel>`, `<!everyone>`, `<!subteam^S1|@team>`). The bot's own
# `<!date^…>` is not one of them.
BROADCAST = re.compile(r"<!(?:channel|here|everyone|group|subteam\^)[^>]*>", re.IGNORECASE)
# Typed words that Slack turns into a broadcast when a message is posted with `link_names`.
BARE_BROADCAST = re.compile(r"(?<![\w&;])@(?:channel|here|everyone)\b", re.IGNORECASE)


def mrkdwn_texts(node: object) -> list[str]:
    """Every mrkdwn string in a block tree: what Slack parses for mentions, broadcasts and links."""
    if isinstance(node, list):
        return [text for item in node for text in mrkdwn_texts(item)]
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [text for value in node.values() for text in mrkdwn_texts(value)]
    return []


def sent_texts(emulator: SlackEmulator) -> list[tuple[str, str]]:
    """`(where, text)` for every text Slack parses for mentions in everything the bot sent it: the `text` of
    messages and the mrkdwn of blocks, attachments and views, over every Web API call the emulator recorded and
    every post to a response_url."""
    found: list[tuple[str, str]] = []
    for call in emulator.calls:
        texts = [call.params.get("text"), *mrkdwn_texts(call.blocks)]
        texts += mrkdwn_texts(call.json_param("attachments") or []) + mrkdwn_texts(call.json_param("view") or {})
        found += [(call.method, text) for text in texts if isinstance(text, str)]
    for post in emulator.responses():
        found += [("response_url", text) for text in [post.get("text"), *mrkdwn_texts(post.get("blocks") or [])]
                  if isinstance(text, str)]
    return found


def unwanted_mentions(emulator: SlackEmulator, *, spoofed_users: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The texts the bot sent that would notify people it did not mean to: a broadcast or user group mention, a
    bare `@channel` in a message posted with `link_names`, or a mention of one of `spoofed_users` (people whose
    `<@U…>` only ever came from what someone typed)."""
    spoofs = [re.compile(rf"<@{re.escape(user)}(?:\|[^>]*)?>") for user in spoofed_users]
    linking = {id(call) for call in emulator.calls if str(call.params.get("link_names", "")).lower() in ("1", "true")}
    unwanted = [(where, text) for where, text in sent_texts(emulator)
                if BROADCAST.search(text) or any(spoof.search(text) for spoof in spoofs)]
    for call in emulator.calls:
        if id(call) in linking:
            unwanted += [(call.method, text) for text in [call.params.get("text"), *mrkdwn_texts(call.blocks)]
                         if isinstance(text, str) and BARE_BROADCAST.search(text)]
    return unwanted
