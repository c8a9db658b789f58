"""`initiative-bot digest`: print, post or draw the weekly digest; `digest-list`, `digest-add`, `digest-edit`,
`digest-disable` and `digest-enable`: the same as `/initiative digest list|add|edit|disable|enable`."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.cli.common import add_team_option, cli_operator, open_runtime, workspace_to_act_on

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from sqlmodel import Session

    from bot.config import Settings
    from bot.integrations.slack_channels import Channel
    from bot.runtime import Runtime
    from bot.views.plain_text import Reader
    from storage.models import Digest, DigestRun

SLACK_NAME_LOOKUPS = 50  # users.info allows about 100 calls a minute; a printout should not wait on more


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "digest", help="print the weekly digest; --post posts it, --chart writes its picture",
        description="Prints the weekly pilot-to-production digest as a person reads it in Slack, every list in "
        "full: people by name, times in words in the digest's zone. With --post it is posted to its channel (once "
        "per ISO week), with its chart in the thread; with --chart the chart is written to a file.")
    parser.add_argument("--as-of", type=_day, metavar="YYYY-MM-DD",
                        help="the digest as of the end of that day in the digest's zone (default: now)")
    parser.add_argument("--post", action="store_true", help="post it to the digest's channel now")
    parser.add_argument("--chart", type=Path, metavar="FILE.png", help="write the chart (PNG) to this file")
    parser.add_argument("--name", help="which digest (default: the DIGEST_CHANNEL one)")
    add_team_option(parser)
    parser.set_defaults(func=run_digest)

    add = subparsers.add_parser(
        "digest-add", help="add a digest with its own channel, filter and schedule",
        description="Adds a weekly digest. It posts once per ISO week in its zone, at the first time its cron "
        "expression fires that week.")
    add.add_argument("name", help="a short name, e.g. claims")
    add.add_argument("--channel", required=True, metavar="#NAME",
                     help="the channel to post to: #name or its ID (C…); the bot must be in it")
    add.add_argument("--cron", help="when, as crontab fields (default: Mondays 09:00, like the default digest)")
    add.add_argument("--timezone", help="IANA zone for the cron and the week (default: DEFAULT_TIMEZONE)")
    only = add.add_mutually_exclusive_group()
    only.add_argument("--tag", help="only initiatives with this tag")
    only.add_argument("--business-unit", metavar="TEAM", help="only initiatives of this team or business unit")
    add_team_option(add)
    add.set_defaults(func=run_digest_add)

    edit = subparsers.add_parser(
        "digest-edit", help="change a digest's channel, schedule or filter",
        description="Changes what is given and keeps the rest. The change applies from the scheduler's next "
        "tick; a week that already has its post gets no second one.")
    edit.add_argument("name", help="the digest's name (see digest-list)")
    edit.add_argument("--channel", metavar="#NAME",
                      help="the channel to post to: #name or its ID (C…); the bot must be in it")
    edit.add_argument("--cron", help="when, as crontab fields, e.g. '0 9 * * 1'")
    edit.add_argument("--timezone", help="IANA zone for the cron and the week")
    only = edit.add_mutually_exclusive_group()
    only.add_argument("--tag", help="only initiatives with this tag")
    only.add_argument("--business-unit", metavar="TEAM", help="only initiatives of this team or business unit")
    only.add_argument("--no-filter", action="store_true", help="every initiative")
    add_team_option(edit)
    edit.set_defaults(func=run_digest_edit)

    listing = subparsers.add_parser("digest-list", help="the digests: channel, filter, schedule, next post")
    add_team_option(listing)
    listing.set_defaults(func=run_digest_list)

    for action, doing in (("disable", "stop a digest posting"), ("enable", "let a disabled digest post again")):
        toggle = subparsers.add_parser(f"digest-{action}", help=doing)
        toggle.add_argument("name", help="the digest's name (see digest-list)")
        add_team_option(toggle)
        toggle.set_defaults(func=run_digest_toggle, enabled=action == "enable")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; use YYYY-MM-DD, like 2026-11-23") from None


def run_digest(args: argparse.Namespace) -> int:
    from bot.services.digest.service import DEFAULT_NAME, end_of_day, ensure_default_digests, zone_named
    from storage.types import utcnow

    runtime = open_runtime(_settings(posting=args.post))
    team_id = workspace_to_act_on(runtime, args.team)
    with runtime.transaction() as session:
        ensure_default_digests(session, runtime.settings)
        digest = _digest(session, team_id, args.name or DEFAULT_NAME, runtime, posting=args.post)
        as_of = end_of_day(args.as_of, zone_named(digest.timezone)) if args.as_of else utcnow()
    show_digest(runtime, digest=digest, as_of=as_of, chart=args.chart)
    if args.post:
        print("\n" + _post(runtime, digest.id, as_of))  # type: ignore[arg-type]
    return 0


def _settings(*, posting: bool) -> Settings:
    """The settings, with DIGEST_CHANNEL checked in Slack and turned into its ID when posting, or whenever it is a
    name (only IDs are stored); the bot token is then needed."""
    from bot.config import SettingsError, load_settings
    from bot.integrations.slack_channels import with_checked_channels
    from bot.services.validation import CHANNEL_ID_PATTERN

    settings = load_settings()
    if posting and not settings.slack_bot_token:
        raise SettingsError("SLACK_BOT_TOKEN is not set: expected the bot token from OAuth & Permissions")
    if settings.digest_channel and (posting or not CHANNEL_ID_PATTERN.match(settings.digest_channel)):
        return with_checked_channels(settings)
    return settings


def show_digest(runtime: Runtime, *, digest: Digest, as_of: datetime, chart: Path | None,
                say: Callable[[str], None] = print,
                render: Callable[[list[dict[str, Any]]], str] | None = None) -> None:
    """Print the digest, every list in full, as a person reads it in Slack (or as `render` shows its blocks) and,
    if asked, write its chart. Also the end of `initiative-bot demo`, which shows it as posted."""
    import sys

    from bot.services.digest.service import channel_audience, compute_digest, render_chart
    from bot.views.digest import digest_in_full
    from bot.views.plain_text import render_blocks
    from storage.types import utcnow

    with runtime.transaction() as session:
        report = compute_digest(session, digest=digest, as_of=as_of, audience=channel_audience(digest),
                                default_zone=runtime.settings.default_zone)
    blocks = digest_in_full(report)
    if render is not None:
        say(render(blocks))
    else:
        say(f"Times are in {report.timezone}, the digest's zone.\n")
        reader, unknown = _terminal_reader(runtime, team_id=digest.team_id, blocks=blocks,
                                           zone=ZoneInfo(report.timezone), now=utcnow(), ansi=sys.stdout.isatty())
        say(render_blocks(blocks, reader) + unknown)
    if chart:
        chart.write_bytes(render_chart(report))
        say(f"\nChart written to {chart}")


def _terminal_reader(runtime: Runtime, *, team_id: str, blocks: list[dict[str, Any]], zone: ZoneInfo,
                     now: datetime, ansi: bool) -> tuple[Reader, str]:
    """Someone reading `blocks` at `now` in `zone`, with the names of the people and channels they mention: the
    names the bot has recorded, else (with SLACK_BOT_TOKEN) Slack's; and a last line naming, plainly, whoever
    is still shown by ID."""
    from bot.services.audit.service import current_names
    from bot.views.plain_text import Reader, mentioned

    people_ids, channel_ids = mentioned(blocks)
    with runtime.read() as session:
        people = current_names(session, team_id=team_id, user_ids=people_ids)
    channels: dict[str, str] = {}
    if runtime.settings.slack_bot_token:
        people |= _slack_names(runtime.settings, people_ids - people.keys())
        channels = _channel_names_by_id(runtime.settings, channel_ids)
    reader = Reader(zone=zone, people=people, channels=channels, now=now, ansi=ansi)
    if not (unknown := sorted(people_ids - people.keys())):
        return reader, ""
    how = ("Slack did not say" if runtime.settings.slack_bot_token
           else "set SLACK_BOT_TOKEN to look them up in Slack")
    return reader, f"\n\nShown by their Slack ID, as their names are not known here ({how}): {', '.join(unknown)}"


def _slack_names(settings: Settings, user_ids: set[str]) -> dict[str, str]:
    """users.info's name for each of `user_ids` Slack answers for, the first SLACK_NAME_LOOKUPS of them (read-only;
    a refusal leaves the ID)."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.integrations.slack_channels import client_for
    from bot.services.access.service import display_name_of

    client, names = client_for(settings), {}
    for user_id in sorted(user_ids)[:SLACK_NAME_LOOKUPS]:
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except (SlackApiError, SlackClientError, OSError):
            continue
        if name := display_name_of(user):
            names[user_id] = name
    return names


def _channel_names_by_id(settings: Settings, channel_ids: set[str]) -> dict[str, str]:
    from bot.integrations.slack_channels import SlackChannels, client_for

    found = SlackChannels(client_for(settings)).names_of(sorted(channel_ids))
    return {channel_id: name.removeprefix("#") for channel_id, name in found.items()}


def _digest(session: Session, team_id: str, name: str, runtime: Runtime, *, posting: bool) -> Digest:
    from bot.services.digest.service import DEFAULT_NAME, get_digest, preview_digest

    if name == DEFAULT_NAME and not posting and not runtime.settings.digest_channel:
        return preview_digest(team_id, runtime.settings)  # printing needs no channel
    return get_digest(session, team_id=team_id, name=name)


def _post(runtime: Runtime, digest_id: int, as_of: datetime) -> str:
    """Post the week's digest (or its failed run again) and say where it is; DomainError, saying why, when Slack
    refused it or the week's post can no longer be found."""
    from bot.adapters.digest import AlreadyPosted, advance_runs, start_run
    from bot.delivery.sender import deliver_pending, make_client
    from bot.integrations.slack_channels import SlackChannels, client_for
    from bot.services.errors import DomainError
    from storage.models import Digest, DigestRun

    client = make_client(runtime.settings)
    try:
        run_id = start_run(runtime, digest_id=digest_id, as_of=as_of).id
        already = False
    except AlreadyPosted as taken:
        if taken.run_id is None:  # another process inserted the week's run at this very moment
            raise DomainError("Another process is posting this week's digest now; run this again in a minute "
                              "to see where it went.") from None
        run_id, already = taken.run_id, taken.state == "posted"
    if not already:  # queued now, or still queued by a bot that is not running: deliver it from here
        deliver_pending(runtime, client)
        advance_runs(runtime, client)
    with runtime.transaction() as session:
        run = session.get(DigestRun, run_id)
        digest = session.get(Digest, digest_id)
        assert run is not None and digest is not None
    channel = run.channel_id or digest.channel_id
    where = SlackChannels(client_for(runtime.settings)).names_of([channel]).get(channel, channel)
    if run.state == "posted":
        link = _permalink(client, run, where)
        if already:
            return f"Already posted for {run.week}, to {where}: {link}"
        chart = "with its chart" if run.chart_state == "uploaded" else f"(chart {run.chart_state})"
        return f"Posted to {where} {chart}: {link}"
    if run.state == "failed":
        retry = (" The scheduler tries again within the hour until the week ends."
                 if run.retry_at is not None else "")
        raise DomainError(f"The digest for {run.week} was not posted to {where}: {run.last_error}. "
                          f"{_fix(run.last_error, where)}{retry}")
    return "Queued: the running bot's outbox will deliver it."


def _fix(error: str | None, where: str) -> str:
    from bot.integrations.slack_channels import INVITE

    if (error or "").startswith("not_in_channel"):
        return f"In {where}, type {INVITE}, then run this again."
    return "Fix the channel, then run this again."


def _permalink(client: WebClient, run: DigestRun, where: str) -> str:
    """The posted text's link; DomainError if Slack no longer has it (deleted), so "posted" is never said of a
    message that is not there."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.services.errors import DomainError

    try:
        return str(client.chat_getPermalink(channel=run.channel_id, message_ts=run.ts)["permalink"])
    except SlackApiError as exc:
        error = exc.response.get("error")
    except (SlackClientError, OSError) as exc:
        error = type(exc).__name__
    raise DomainError(f"The digest for {run.week} was posted to {where} (ts {run.ts}), but Slack does not find "
                      f"that message now ({error}); if someone deleted it, this week gets no second post.")


def run_digest_add(args: argparse.Namespace) -> int:
    from bot.services.digest.service import add_digest, status_of
    from bot.views.digest_admin import saved_text
    from storage.models.digest import DEFAULT_CRON
    from storage.types import utcnow

    settings = _settings(posting=False)
    channel = _checked_channel(settings, args.channel)  # before the transaction: Slack may take a few pages
    runtime = open_runtime(settings)
    team_id = workspace_to_act_on(runtime, args.team)
    with runtime.transaction() as session:
        digest = add_digest(session, actor=cli_operator(team_id), name=args.name, channel_id=channel.id,
                            cron=args.cron or DEFAULT_CRON, timezone=args.timezone or runtime.settings.default_timezone,
                            tag=args.tag, business_unit=args.business_unit)
        print(saved_text("added", status_of(session, digest, utcnow()), slack=False,
                         channel_names={channel.id: str(channel)}))
    return 0


def _checked_channel(settings: Settings, typed: str) -> Channel:
    """The channel as typed (#name or ID), found and checked in Slack: it exists and the bot is in it."""
    from bot.integrations.slack_channels import ChannelRefused, SlackChannels, client_for
    from bot.services.errors import InvalidInput

    try:
        return SlackChannels(client_for(settings)).find(typed)
    except ChannelRefused as refused:
        raise InvalidInput(str(refused), field="channel_id") from None


def _channel_names(settings: Settings, digests: list[Digest]) -> dict[str, str]:
    """`#name` of the digests' channels, when the bot token can look them up; IDs are shown otherwise."""
    from bot.integrations.slack_channels import SlackChannels, client_for

    if not settings.slack_bot_token or not digests:
        return {}
    return SlackChannels(client_for(settings)).names_of([digest.channel_id for digest in digests])


@contextmanager
def _digests(args: argparse.Namespace, settings: Settings) -> Iterator[tuple[Session, str]]:
    """One transaction over the digests of `--team` (or the only workspace), the default one included."""
    from bot.services.digest.service import ensure_default_digests

    runtime = open_runtime(settings)
    team_id = workspace_to_act_on(runtime, args.team)
    with runtime.transaction() as session:
        ensure_default_digests(session, runtime.settings)
        yield session, team_id


def run_digest_edit(args: argparse.Namespace) -> int:
    from bot.services.digest.service import edit_digest, status_of
    from bot.views.digest_admin import saved_text
    from storage.types import utcnow

    settings = _settings(posting=False)
    channel = _checked_channel(settings, args.channel) if args.channel is not None else None
    with _digests(args, settings) as (session, team_id):
        digest = edit_digest(session, actor=cli_operator(team_id), name=args.name,
                             channel_id=channel.id if channel else None, cron=args.cron, timezone=args.timezone,
                             tag=args.tag, business_unit=args.business_unit, no_filter=args.no_filter)
        names = {channel.id: str(channel)} if channel else _channel_names(settings, [digest])
        print(saved_text("changed", status_of(session, digest, utcnow()), slack=False, channel_names=names))
    return 0


def run_digest_toggle(args: argparse.Namespace) -> int:
    from bot.services.digest.service import set_digest_enabled, status_of
    from bot.views.digest_admin import saved_text
    from storage.types import utcnow

    settings = _settings(posting=False)
    with _digests(args, settings) as (session, team_id):
        digest = set_digest_enabled(session, actor=cli_operator(team_id), name=args.name, enabled=args.enabled)
        print(saved_text("enabled" if args.enabled else "disabled", status_of(session, digest, utcnow()),
                         slack=False, channel_names=_channel_names(settings, [digest])))
    return 0


def run_digest_list(args: argparse.Namespace) -> int:
    from bot.services.digest.service import digest_statuses
    from bot.views.digest_admin import digests_text
    from storage.types import utcnow

    settings = _settings(posting=False)
    with _digests(args, settings) as (session, team_id):
        statuses = digest_statuses(session, team_id=team_id, now=utcnow())
        names = _channel_names(settings, [status.digest for status in statuses])
        print(digests_text(statuses, slack=False, channel_names=names))
    return 0
