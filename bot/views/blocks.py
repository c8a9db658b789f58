"""Small typed block builders and the limits slack_sdk does not check (blocks per surface, text lengths)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.views.text import SECTION_MAX, clip

Surface = Literal["message", "modal", "home"]
MAX_BLOCKS: dict[Surface, int] = {"message": 50, "modal": 100, "home": 100}
HEADER_MAX = 150
FIELD_MAX = 2000
CONTEXT_MAX = 2000


@dataclass(frozen=True)
class Message:
    """A message body: `text` is the plain-text fallback (notifications, screen readers), `blocks` the layout."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=clip(text, HEADER_MAX), emoji=True))


def section(mrkdwn_text: str, *, block_id: str | None = None, accessory: Any = None) -> SectionBlock:
    """A section of mrkdwn that the caller has already escaped; clipped to Slack's 3,000 characters."""
    return SectionBlock(text=MarkdownTextObject(text=clip(mrkdwn_text, SECTION_MAX)), block_id=block_id,
                        accessory=accessory)


def fields(pairs: Sequence[tuple[str, str]]) -> SectionBlock:
    """Up to 10 `*label*\\nvalue` fields; values already escaped."""
    return SectionBlock(fields=[MarkdownTextObject(text=clip(f"*{label}*\n{value}", FIELD_MAX))
                                for label, value in pairs[:10]])


def context(mrkdwn_text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(mrkdwn_text, CONTEXT_MAX))])


def divider() -> DividerBlock:
    return DividerBlock()


def finish(blocks: Sequence[Block], surface: Surface) -> list[dict[str, Any]]:
    """Blocks as JSON, refusing a layout Slack would reject (a builder bug, never the user's)."""
    limit = MAX_BLOCKS[surface]
    if len(blocks) > limit:
        raise ValueError(f"{len(blocks)} blocks exceed the {limit} allowed in a {surface}")
    return [block.to_dict() for block in blocks]


def more_line(shown: int, total: int, hint: str) -> str | None:
    """`and N more` when a list was cut."""
    return f"…and {total - shown} more. {hint}" if total > shown else None
