"""Who administers the bot, as `/initiative admins list` (mrkdwn) and `initiative-bot admins list` (plain text)
show it. Pure: entries in, text out."""

from __future__ import annotations

from collections.abc import Sequence

from bot.services.access.service import AdminEntry
from bot.services.validation import USER_ID_PATTERN
from bot.views.text import mention, plain_date


def admins_text(entries: Sequence[AdminEntry], *, slack_admins_are_admins: bool, slack: bool) -> str:
    """One line per admin and where their right comes from; `slack=False` names people by their ids."""
    lines = [f"{_person(entry.user_id, slack)} · {_granted_by(entry, slack)}" for entry in entries]
    if not lines:
        # In Slack only an admin may add one, so the first comes from the settings or the command line.
        lines = ["No admins yet: set ADMIN_USER_IDS, or run `initiative-bot admins add U…`."]
    if slack_admins_are_admins:
        lines.append("Slack workspace admins and owners are admins too.")
    return ("*Admins*\n" if slack else "Admins\n") + "\n".join(lines)


def _granted_by(entry: AdminEntry, slack: bool) -> str:
    if entry.source == "settings":
        return "ADMIN_USER_IDS"
    when = plain_date(entry.added_at) if entry.added_at else "an unknown date"
    return f"added by {_person(entry.added_by, slack)} on {when}"


def _person(user_id: str | None, slack: bool) -> str:
    """A Slack user as a mention in Slack; anyone else (`cli:login`, who ran the command line) as written."""
    if slack and user_id and USER_ID_PATTERN.match(user_id):
        return mention(user_id)
    return user_id or "nobody"
