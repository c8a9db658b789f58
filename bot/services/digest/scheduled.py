"""Posting the weekly digest exactly once per ISO week, text first, then the chart in its thread.

What the digest job calls (bot/jobs/digest.py). Each scheduler tick (and start-up) runs `digest_tick`:
1. every enabled digest whose scheduled time this week has come and that has no run for the week gets one:
   the run row (unique on digest and week) and the text's outbox message are written in one transaction, so
   with several replicas exactly one wins and the others roll back. Digests are read from the table on every
   tick, so an admin's edit, disable or enable applies from the next tick, without a restart;
2. runs whose text Slack took (its registered message is posted) get their chart, through a dedicated step
   runner: getUploadURLExternal -> upload -> completeUploadExternal(channel_id, thread_ts). Each step is
   recorded, the chart is claimed by a compare-and-set before it starts, and once completeUploadExternal has
   been started it is never called again: a crash there can lose the chart but never post it twice. A failed
   upload leaves the text standing.
3. a text that Slack refused (`not_in_channel`, archived...) fails the run, and every admin gets one DM. The run
   is tried again, with its digest's channel as it is then: on the next tick, then after 2, 4, 8... minutes (an
   hour at most) until its week ends. Each retry is a compare-and-set on the failed run, written with its outbox
   message in one transaction, so with several replicas one of them queues it. `initiative-bot digest --post`
   retries a failed run at once (`start_run(retry_failed=True)`).

The domain calls no Slack API and words nothing itself: the job hands in `DigestSlack` (the views' wording and
slack_sdk's upload calls).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.delivery.messages import post_message, replies_pending, reply_in_thread
from bot.delivery.outbox import describe_error, enqueue
from bot.services.access.service import list_admins
from bot.services.digest.chart import render_chart
from bot.services.digest.definitions import enabled_digests, ensure_default_digests, run_in_week
from bot.services.digest.report import DigestReport
from bot.services.digest.schedule import DAYS_IN_WEEK, due_time, iso_week, week_start, zone_named
from bot.services.digest.service import channel_audience, compute_digest
from bot.services.events import DigestPosted, emit
from bot.services.scheduling import JobRuntime
from storage.models import Digest, DigestRun, DigestRunStep, SlackMessage
from storage.types import utcnow


class DigestWording(Protocol):
    """How a digest reads in Slack (bot/views/digest.py, handed in by the job)."""

    def text_payloads(self, report: DigestReport) -> list[dict[str, Any]]:
        """The text's chat.postMessage payloads (text and blocks), without the channel: the channel message, then
        the replies in its thread that a digest too long for one message needs."""
        ...

    def not_posted_notice(self, *, digest_name: str, week: str, channel_id: str, error: str) -> str: ...

    def chart_title(self, report: DigestReport) -> str: ...


class DigestSlack(DigestWording, Protocol):
    """The wording, and Slack's external-upload flow for the chart; each call raises ChartUploadFailed."""

    def upload_url(self, *, filename: str, length: int) -> tuple[str, str]:
        """files.getUploadURLExternal: (file_id, upload_url)."""
        ...

    def upload(self, upload_url: str, png: bytes) -> None: ...

    def complete(self, *, file_id: str, title: str, channel_id: str | None, thread_ts: str | None) -> None:
        """files.completeUploadExternal into the text's thread."""
        ...


class ChartUploadFailed(Exception):
    """A step of the chart's upload failed; the message says why, in words an admin can act on."""


log = logging.getLogger(__name__)

DIGEST_TEXT = "digest"  # the registered message of a run's text: kind "digest", subject the run's id
CHART_ATTEMPTS = 3
CHART_CLAIM = timedelta(minutes=5)  # a claimed chart whose worker died is taken over after this
RETRY_STEP = timedelta(minutes=1)  # a refused text is retried on the next tick, then after 2, 4, 8... minutes
RETRY_MAX = timedelta(hours=1)


class AlreadyPosted(Exception):
    """This digest already has a run for that week: `run_id`, in `state` (posting, posted, or failed)."""

    def __init__(self, week: str, *, run_id: int | None = None, state: str | None = None) -> None:
        super().__init__(week)
        self.run_id, self.state = run_id, state


@dataclass
class TickReport:
    started: list[str] = field(default_factory=list)  # "digest-name 2026-W48"
    retried: list[str] = field(default_factory=list)  # the same, for failed runs queued again
    posted: int = 0
    charts: int = 0
    failed: int = 0


def digest_tick(runtime: JobRuntime, slack: DigestSlack, *, now: datetime | None = None) -> TickReport:
    """Start the runs that are due (catching up on missed ones this week) and move unfinished runs on."""
    now = now or utcnow()
    report = TickReport()
    with runtime.transaction() as session:
        ensure_default_digests(session, runtime.settings)
        due = []
        for digest in enabled_digests(session):
            zone = zone_named(digest.timezone)
            if (scheduled := due_time(digest.cron, zone, now)) is not None:
                due.append((digest.id, digest.name, scheduled, iso_week(scheduled, zone)))
        done = _weeks_done(session, [digest_id for digest_id, *_ in due])  # a first look; start_run decides
    for digest_id, name, scheduled, week in due:
        if (digest_id, week) in done:
            continue
        try:
            start_run(runtime, slack, digest_id=digest_id, as_of=scheduled)
            report.started.append(f"{name} {week}")
        except AlreadyPosted:
            continue
    for run_id in _retries_due(runtime, now):
        if (retried := retry_run(runtime, slack, run_id=run_id, now=now)) is not None:
            report.retried.append(retried)
    advance_runs(runtime, slack, now=now, report=report)
    return report


def _weeks_done(session: Session, digest_ids: list[int]) -> set[tuple[int, str]]:
    if not digest_ids:
        return set()
    rows = session.exec(select(DigestRun.digest_id, DigestRun.week).where(col(DigestRun.digest_id).in_(digest_ids)))
    return {(digest_id, week) for digest_id, week in rows}


def start_run(runtime: JobRuntime, wording: DigestWording, *, digest_id: int, as_of: datetime,
              retry_failed: bool = False) -> DigestRun:
    """This week's run and its text in the outbox, atomically; AlreadyPosted if the week has one, unless that run
    failed and `retry_failed` is given: its text is then queued again, as of `as_of`."""
    try:
        with runtime.transaction() as session:
            # Locked until commit, so an admin's edit of the zone cannot slip between the check and the insert.
            digest = session.exec(select(Digest).where(Digest.id == digest_id).with_for_update()).one()
            week = iso_week(as_of, zone_named(digest.timezone))
            if (existing := run_in_week(session, digest, as_of)) is not None:
                if retry_failed and existing.state == "failed":
                    locked = _failed_run(session, existing.id)  # type: ignore[arg-type]
                    if locked is not None:
                        _queue_text(session, wording, digest, locked, as_of,
                                    default_zone=runtime.settings.default_zone)
                        return locked
                raise AlreadyPosted(existing.week, run_id=existing.id, state=existing.state)
            run = DigestRun(team_id=digest.team_id, digest_id=digest_id, week=week, as_of=as_of)
            session.add(run)
            session.flush()  # the unique constraint decides between replicas here
            _queue_text(session, wording, digest, run, as_of, default_zone=runtime.settings.default_zone)
            log.info("digest %s for %s queued (team %s)", digest.name, week, digest.team_id)
            return run
    except IntegrityError:
        raise AlreadyPosted(as_of.isoformat()) from None


def _queue_text(session: Session, wording: DigestWording, digest: Digest, run: DigestRun, as_of: datetime, *,
                default_zone: ZoneInfo) -> None:
    """The run's text, as of `as_of`, to the digest's channel as it is now, in the outbox (the rest of a long digest
    in replies in its thread, sent once the message is in); the run is posting."""
    assert run.id is not None
    report = compute_digest(session, digest=digest, as_of=as_of, audience=channel_audience(digest),
                            default_zone=default_zone)
    first, *rest = wording.text_payloads(report)
    quiet = {"unfurl_links": False, "unfurl_media": False}
    message = post_message(session, team_id=digest.team_id, kind=DIGEST_TEXT, subject=run.id,
                           payload={"channel": digest.channel_id, **first, **quiet})
    for reply in rest:  # queued with the message, so each post of it (a retry too) has its own, exactly once
        reply_in_thread(session, message, payload={**reply, **quiet})
    if run.state == "failed":
        run.text_attempts += 1
    run.message_id, run.as_of, run.state, run.retry_at = message.id, as_of, "posting", None
    run.chart_state, run.finished_at = "pending", None
    session.add(run)
    session.flush()


def _failed_run(session: Session, run_id: int) -> DigestRun | None:
    """The run, locked, if it is still failed: the compare-and-set between replicas retrying it at once."""
    return session.exec(select(DigestRun).where(DigestRun.id == run_id, DigestRun.state == "failed")
                        .with_for_update()).first()


def _retries_due(runtime: JobRuntime, now: datetime) -> list[int]:
    with runtime.transaction() as session:
        return list(session.exec(
            select(DigestRun.id).join(Digest, col(Digest.id) == DigestRun.digest_id)
            .where(DigestRun.state == "failed", col(DigestRun.retry_at) <= now, col(Digest.enabled))
            .order_by(col(DigestRun.id))).all())


def retry_run(runtime: JobRuntime, wording: DigestWording, *, run_id: int, now: datetime) -> str | None:
    """Queue a failed run's text again, as of its scheduled time, if it is still failed and due (another replica
    may have taken it); "digest-name 2026-W48" if this call did."""
    with runtime.transaction() as session:
        run = _failed_run(session, run_id)
        if run is None or run.retry_at is None or run.retry_at > now:
            return None
        digest = session.get(Digest, run.digest_id)
        if digest is None or not digest.enabled:
            return None
        if now >= _week_ends(digest, run):  # the bot was down until the week was over: that week stays unposted
            run.retry_at = None
            session.add(run)
            return None
        _queue_text(session, wording, digest, run, run.as_of, default_zone=runtime.settings.default_zone)
        log.info("digest %s for %s queued again, post %s (team %s)", digest.name, run.week, run.text_attempts,
                 digest.team_id)
        return f"{digest.name} {run.week}"


def _next_retry(session: Session, run: DigestRun, now: datetime) -> datetime | None:
    """When a refused text is tried next: the next tick after its first refusal, then after twice as long each
    time, up to RETRY_MAX; None once that falls after the end of the run's week (in its digest's zone)."""
    digest = session.get(Digest, run.digest_id)
    assert digest is not None
    wait = min(RETRY_STEP * 2 ** (run.text_attempts - 1), RETRY_MAX) if run.text_attempts > 1 else timedelta(0)
    return now + wait if now + wait < _week_ends(digest, run) else None


def _week_ends(digest: Digest, run: DigestRun) -> datetime:
    return week_start(run.as_of, zone_named(digest.timezone)) + timedelta(days=DAYS_IN_WEEK)


def advance_runs(runtime: JobRuntime, slack: DigestSlack, *, now: datetime | None = None,
                 report: TickReport | None = None) -> TickReport:
    """Record delivered or refused texts, then upload pending charts."""
    now = now or utcnow()
    report = report or TickReport()
    with runtime.transaction() as session:
        posting = session.exec(select(DigestRun.id).where(DigestRun.state == "posting")).all()
    for run_id in posting:
        outcome = _record_text_outcome(runtime, slack, run_id, now)
        report.posted += outcome == "posted"
        report.failed += outcome == "failed"
    with runtime.transaction() as session:
        runs = session.exec(select(DigestRun).where(
            DigestRun.state == "posted", col(DigestRun.chart_state).in_(("pending", "uploading")))).all()
        # The chart follows the digest's own replies in its thread.
        charts = [run.id for run in runs if not _replies_pending(session, run)]
    for run_id in charts:
        if _claim_chart(runtime, run_id, now):
            report.charts += _upload_chart(runtime, slack, run_id)
    return report


def _record_text_outcome(runtime: JobRuntime, wording: DigestWording, run_id: int, now: datetime) -> str | None:
    with runtime.transaction() as session:
        run = session.exec(select(DigestRun).where(DigestRun.id == run_id, DigestRun.state == "posting")
                           .with_for_update()).first()
        if run is None or run.message_id is None:
            return None
        message = session.get(SlackMessage, run.message_id)
        if message is None or message.state == "pending":
            return None
        if message.state == "posted":
            run.state, run.channel_id, run.ts, run.last_error = "posted", message.channel, message.ts, None
            _step(session, run, "text", "done", result={"channel": run.channel_id, "ts": run.ts},
                  attempt=run.text_attempts)
            emit(session, DigestPosted(team_id=run.team_id, actor="digest", digest_name=_name_of(session, run),
                                       week=run.week, channel_id=run.channel_id, ts=run.ts))
        else:
            error = describe_error(message.error)
            run.state, run.chart_state, run.last_error, run.finished_at = "failed", "failed", error, now
            run.retry_at = _next_retry(session, run, now)
            _step(session, run, "text", "failed", error=error, attempt=run.text_attempts)
            if run.text_attempts == 1:  # one DM per run, however often it is retried
                _notify_admins(runtime, wording, session, run, error)
        session.add(run)
        return run.state


def _replies_pending(session: Session, run: DigestRun) -> bool:
    message = session.get(SlackMessage, run.message_id) if run.message_id is not None else None
    return message is not None and replies_pending(session, message)


def _name_of(session: Session, run: DigestRun) -> str:
    digest = session.get(Digest, run.digest_id)
    return digest.name if digest else ""


def _notify_admins(runtime: JobRuntime, wording: DigestWording, session: Session, run: DigestRun,
                   error: str) -> None:
    """One DM per admin per failed run (the outbox's dedupe key makes a repeat a no-op)."""
    digest = session.get(Digest, run.digest_id)
    assert digest is not None
    text = wording.not_posted_notice(digest_name=digest.name, week=run.week, channel_id=digest.channel_id, error=error)
    for admin in list_admins(session, team_id=run.team_id, admin_user_ids=runtime.settings.admin_user_ids):
        enqueue(session, team_id=run.team_id, method="chat.postMessage",
                payload={"channel": admin.user_id, "text": text},
                dedupe_key=f"digest-failed:{run.id}:{admin.user_id}")
    _step(session, run, "admin_notice", "done", result={"error": error})


def _claim_chart(runtime: JobRuntime, run_id: int, now: datetime) -> bool:
    """Compare-and-set: pending (or a stale claim that never reached completeUploadExternal) -> uploading."""
    with runtime.transaction() as session:
        complete_started = select(DigestRunStep.id).where(DigestRunStep.run_id == run_id,
                                                          DigestRunStep.step == "complete")
        claimed = session.execute(
            update(DigestRun)
            .where(col(DigestRun.id) == run_id, col(DigestRun.state) == "posted",
                   or_(col(DigestRun.chart_state) == "pending",
                       (col(DigestRun.chart_state) == "uploading")
                       & (col(DigestRun.chart_claimed_at) < now - CHART_CLAIM) & ~complete_started.exists()))
            .values(chart_state="uploading", chart_claimed_at=now, chart_attempts=DigestRun.chart_attempts + 1)
        )
        return claimed.rowcount == 1


def _upload_chart(runtime: JobRuntime, slack: DigestSlack, run_id: int) -> int:
    """The external-upload flow into the text's thread, one recorded step at a time. 1 if the chart is in."""
    with runtime.transaction() as session:
        run = session.get(DigestRun, run_id)
        digest = session.get(Digest, run.digest_id) if run else None
        assert run is not None and digest is not None
        report = compute_digest(session, digest=digest, as_of=run.as_of, audience=channel_audience(digest),
                                default_zone=runtime.settings.default_zone)
        attempt, channel_id, thread_ts = run.chart_attempts, run.channel_id, run.ts
    png = render_chart(report)
    step = "upload_url"
    try:
        file_id, upload_url = slack.upload_url(filename=f"digest-{report.week}.png", length=len(png))
        _record(runtime, run_id, step, attempt, "done", result={"file_id": file_id})
        step = "upload"
        slack.upload(upload_url, png)
        _record(runtime, run_id, step, attempt, "done", result={"bytes": len(png)})
        step = "complete"
        # Written (committed) before the call: from here on the chart is never attempted again.
        _record(runtime, run_id, step, attempt, "started", result={"file_id": file_id})
        slack.complete(file_id=file_id, title=slack.chart_title(report), channel_id=channel_id,
                       thread_ts=thread_ts)
    except ChartUploadFailed as exc:
        error = str(exc)
        log.warning("digest chart upload failed at %s for run %s: %s", step, run_id, error)
        _chart_failed(runtime, run_id, step, attempt, error, final=step == "complete" or attempt >= CHART_ATTEMPTS)
        return 0
    _record(runtime, run_id, "complete", attempt, "done", result={"file_id": file_id}, chart_state="uploaded")
    return 1


def _chart_failed(runtime: JobRuntime, run_id: int, step: str, attempt: int, error: str, *, final: bool) -> None:
    with runtime.transaction() as session:
        run = session.get(DigestRun, run_id)
        assert run is not None
        existing = _find_step(session, run_id, step, attempt)
        if existing is not None:
            existing.state, existing.error = "failed", error
            session.add(existing)
        else:
            _step(session, run, step, "failed", error=error, attempt=attempt)
        run.chart_state, run.last_error = ("failed" if final else "pending"), error
        run.finished_at = utcnow() if final else None
        session.add(run)


def _record(runtime: JobRuntime, run_id: int, step: str, attempt: int, state: str, *,
            result: dict[str, object], chart_state: str | None = None) -> None:
    with runtime.transaction() as session:
        run = session.get(DigestRun, run_id)
        assert run is not None
        existing = _find_step(session, run_id, step, attempt)
        if existing is not None:
            existing.state, existing.result = state, result
            session.add(existing)
        else:
            _step(session, run, step, state, result=result, attempt=attempt)
        if chart_state is not None:
            run.chart_state, run.finished_at, run.last_error = chart_state, utcnow(), None
            session.add(run)


def _find_step(session: Session, run_id: int, step: str, attempt: int) -> DigestRunStep | None:
    return session.exec(select(DigestRunStep).where(DigestRunStep.run_id == run_id, DigestRunStep.step == step,
                                                    DigestRunStep.attempt == attempt)).first()


def _step(session: Session, run: DigestRun, step: str, state: str, *, result: dict[str, object] | None = None,
          error: str | None = None, attempt: int = 1) -> None:
    session.add(DigestRunStep(team_id=run.team_id, run_id=run.id, step=step, attempt=attempt, state=state,
                              result=result, error=error))
    session.flush()
