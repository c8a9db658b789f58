"""Texts about digest definitions, for `/initiative digest list|add|edit|enable|disable` and the CLI (pure).

`slack=True` gives mrkdwn: channels as links, admins' free text (tags, teams) escaped. Otherwise plain text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from bot.services.digest.service import DigestStatus, scope_of
from bot.views.text import channel_link, escape, plain_date


def digests_text(statuses: Sequence[DigestStatus], *, slack: bool, channel_names: Mapping[str, str] = {}) -> str:
    """`channel_names` (`#name` by ID) names the channels in plain text; Slack shows its links' names itself."""
    if not statuses:
        return ("There are no digests. Set DIGEST_CHANNEL for the default one, or an admin adds one with "
                "`/initiative digest add <name> #channel`.")
    return "\n".join(digest_line(status, slack=slack, channel_names=channel_names) for status in statuses)


def digest_line(status: DigestStatus, *, slack: bool, channel_names: Mapping[str, str] = {}) -> str:
    digest = status.digest
    channel = channel_link(digest.channel_id) if slack else channel_names.get(digest.channel_id, digest.channel_id)
    scope = escape(scope_of(digest)) if slack else scope_of(digest)
    return (f"{digest.name} → {channel} · {scope} · `{digest.cron}` in {digest.timezone} · "
            f"{next_post_text(status)}")


def next_post_text(status: DigestStatus) -> str:
    if status.next_post is None:
        return "disabled"
    when = plain_date(status.next_post, ZoneInfo(status.digest.timezone))
    if status.failed:
        return f"this week's post was refused ({status.failed}); next try {when}"
    if status.due:
        return f"this week's post ({when}) is due: it goes out within a minute"
    return f"next post {when}"


def saved_text(verb: str, status: DigestStatus, *, slack: bool, channel_names: Mapping[str, str] = {}) -> str:
    """`verb`: added, changed, enabled, disabled."""
    return f"Digest {status.digest.name} {verb}.\n{digest_line(status, slack=slack, channel_names=channel_names)}"
