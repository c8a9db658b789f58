"""The private answer to `/initiative find`: the initiatives found, best first, each with its stage, owners and
where its description matched."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from bot.commands.registry import COMMAND, Reply
from bot.services.gates.service import GateCatalog
from bot.services.initiatives.service import MATCH_END, MATCH_START, Hit
from bot.views.blocks import context, finish, header, more_line, section
from bot.views.replies import initiative_line
from bot.views.text import clip, escape, mention

HOW_TO_SEARCH = (f"Every word must begin a word of a title, description, tag or owner's name, in any case; "
                 f"mention someone (`{COMMAND} find churn @maria`) for the initiatives they own. Fewer words find "
                 "more.")
_SNIPPET_MAX = 300


def search_results(hits: Sequence[Hit], *, total: int, asked: str, catalog: GateCatalog) -> Reply:
    """`hits` best first, one section each (at most the service's limit, well within a message's 50 blocks);
    `asked`: what the person typed, shown back to them."""
    asked = clip(asked, 100)
    if not hits:
        message = f"No initiative you can see matches _{escape(asked)}_. {HOW_TO_SEARCH}"
        return Reply(text=message, blocks=finish([section(message)], "message"))
    title = f"Initiatives matching “{asked}” ({total})"
    blocks: list[Block] = [header(title)]
    lines: list[str] = [escape(title)]
    for hit in hits:
        entry = [initiative_line(hit.initiative, catalog), _owners_line(hit, catalog)]
        if hit.snippet:
            entry.append(f"> {_marked(hit.snippet)}")
        blocks.append(section("\n".join(entry)))
        lines.extend(entry)
    more = more_line(len(hits), total, "Add a word to narrow the search.")
    if more:
        blocks.append(context(escape(more)))
        lines.append(escape(more))
    return Reply(text="\n".join(lines), blocks=finish(blocks, "message"))


def _owners_line(hit: Hit, catalog: GateCatalog) -> str:
    if not hit.owners:
        return "_no owners yet_"
    return " · ".join(f"{escape(catalog.role_name(role))} {mention(user_id)}" for role, user_id in hit.owners.items())


def _marked(snippet: str) -> str:
    """A snippet as mrkdwn: its text escaped, the words found in bold, on one line."""
    text = clip(" ".join(snippet.split()), _SNIPPET_MAX)
    parts = []
    for piece in text.split(MATCH_START):
        found, _, rest = piece.partition(MATCH_END) if MATCH_END in piece else ("", "", piece)
        parts.append((f"*{escape(found)}*" if found else "") + escape(rest))
    return "".join(parts)
