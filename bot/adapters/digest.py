"""The digest as Slack shows it (`SlackDigest`: the views' wording and slack_sdk's chart upload), handed to the
digest domain (bot/services/digest/scheduled.py) by the digest job, `initiative-bot digest --post` and the
playground."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.delivery.outbox import describe_error
from bot.runtime import Runtime
from bot.services.digest import scheduled
from bot.services.digest.scheduled import AlreadyPosted, ChartUploadFailed, DigestReport, TickReport
from bot.views.digest import digest_messages, not_posted_notice, title_of
from storage.models import DigestRun

UPLOAD_TIMEOUT = 30.0

__all__ = ["AlreadyPosted", "SlackDigest", "advance_runs", "digest_tick", "start_run"]


class SlackDigest:
    """The digest as Slack shows it, and the chart's external upload through `client` (scheduled.DigestSlack)."""

    def __init__(self, client: WebClient | None = None) -> None:
        self.client = client

    def text_payloads(self, report: DigestReport) -> list[dict[str, Any]]:
        return [message.payload() for message in digest_messages(report)]

    def not_posted_notice(self, *, digest_name: str, week: str, channel_id: str, error: str) -> str:
        return not_posted_notice(digest_name=digest_name, week=week, channel_id=channel_id, error=error)

    def chart_title(self, report: DigestReport) -> str:
        return title_of(report)

    def upload_url(self, *, filename: str, length: int) -> tuple[str, str]:
        with _failures():
            answer = self._client.files_getUploadURLExternal(filename=filename, length=length)
            return answer["file_id"], answer["upload_url"]

    def upload(self, upload_url: str, png: bytes) -> None:
        with _failures():
            httpx.post(upload_url, content=png, headers={"Content-Type": "image/png"},
                       timeout=UPLOAD_TIMEOUT).raise_for_status()

    def complete(self, *, file_id: str, title: str, channel_id: str | None, thread_ts: str | None) -> None:
        with _failures():
            self._client.files_completeUploadExternal(files=[{"id": file_id, "title": title}],
                                                      channel_id=channel_id, thread_ts=thread_ts)

    @property
    def _client(self) -> WebClient:
        assert self.client is not None, "uploading a chart needs a Slack client"
        return self.client


@contextmanager
def _failures() -> Iterator[None]:
    """Slack's and the upload's errors as ChartUploadFailed, in words an admin can act on."""
    try:
        yield
    except SlackApiError as exc:
        raise ChartUploadFailed(describe_error(str(exc.response.get("error", "")))) from exc
    except (SlackClientError, httpx.HTTPError, KeyError) as exc:
        raise ChartUploadFailed(f"{type(exc).__name__}: {exc}"[:500]) from exc


def digest_tick(runtime: Runtime, client: WebClient, *, now: datetime | None = None) -> TickReport:
    return scheduled.digest_tick(runtime, SlackDigest(client), now=now)


def start_run(runtime: Runtime, *, digest_id: int, as_of: datetime) -> DigestRun:
    """`initiative-bot digest --post`: this week's run and its text in the outbox, or the week's failed run queued
    again (AlreadyPosted if the week's run is posting or posted)."""
    return scheduled.start_run(runtime, SlackDigest(), digest_id=digest_id, as_of=as_of, retry_failed=True)


def advance_runs(runtime: Runtime, client: WebClient, *, now: datetime | None = None) -> TickReport:
    """`initiative-bot digest --post`: record the delivered text, then upload the chart."""
    return scheduled.advance_runs(runtime, SlackDigest(client), now=now)

