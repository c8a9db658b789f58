"""Evidence links on sign-offs: which are due a check, what the last check found, which are broken.

Links are checked when a review opens (the links already attached to the initiative's sign-offs), when an
approval attaches them, and daily after that (the integration-checks job). One row per workspace and URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.integrations.evidence import LinkResult
from bot.services.access.service import Audience, visible_to
from bot.services.events import DomainEvent, EvidenceLinkChanged, ReviewOpened, SignOffDecided, emit
from bot.services.reviews.service import lock_open_reviews
from storage.models import EvidenceCheck, GateReview, Initiative, SignOff
from storage.types import utcnow

RECHECK_EVERY = timedelta(days=1)
# How long a replica that claimed links or automatic checks has to run them and record the results (far above
# the outbound timeouts).
CHECK_LEASE = timedelta(minutes=10)
FLAGGED = ("broken", "blocked")


class EvidenceEvents:
    """Domain-event handler: links become due for a check now, in the transaction that opened or decided."""

    def __call__(self, session: Session, event: DomainEvent) -> None:
        if isinstance(event, ReviewOpened):
            reviews = select(GateReview.id).where(GateReview.initiative_id == event.initiative_id)
            rows = session.exec(select(SignOff.evidence_links).where(col(SignOff.review_id).in_(reviews))).all()
            mark_due(session, team_id=event.team_id, urls=[url for links in rows for url in links])
        elif isinstance(event, SignOffDecided):
            sign_off = session.get(SignOff, event.sign_off_id)
            if sign_off is not None:
                mark_due(session, team_id=event.team_id, urls=sign_off.evidence_links)


def mark_due(session: Session, *, team_id: str, urls: Iterable[str], now: datetime | None = None) -> None:
    now = now or utcnow()
    for url in dict.fromkeys(urls):
        existing = _row(session, team_id, url)
        if existing is not None:
            existing.due_at = now
            session.add(existing)
            continue
        try:
            with session.begin_nested():
                session.add(EvidenceCheck(team_id=team_id, url=url, due_at=now))
                session.flush()
        except IntegrityError:
            # Another transaction added it first; it is due at most a day from now anyway.
            continue
    session.flush()


def claim_due_links(session: Session, *, now: datetime, limit: int = 200) -> list[tuple[str, str]]:
    """(team_id, url) of links whose check is due, most overdue first, claimed for `CHECK_LEASE`.

    Another replica running the same job at the same moment skips these rows while this transaction holds them,
    and finds them no longer due once it commits: each link is checked by one replica at a time, so two checks
    can never record their results in the wrong order. A claim whose results never come (a crash) runs out."""
    query = (
        select(EvidenceCheck.id, EvidenceCheck.team_id, EvidenceCheck.url)
        .where(col(EvidenceCheck.due_at) <= now)
        .order_by(col(EvidenceCheck.due_at))
        .limit(limit)
        .with_for_update(skip_locked=True)  # SQLite ignores it: its transactions begin IMMEDIATE, one at a time
    )
    due = list(session.exec(query))
    if due:
        session.execute(update(EvidenceCheck).where(col(EvidenceCheck.id).in_([row_id for row_id, _, _ in due]))
                        .values(due_at=now + CHECK_LEASE))
    return [(team, url) for _, team, url in due]


def record_results(session: Session, *, results: Mapping[tuple[str, str], LinkResult], now: datetime) -> None:
    """Keep what the checks of (team_id, url) found. A link whose flag in the sign-off DMs changes (ok <-> broken,
    or why it is broken) gets an `EvidenceLinkChanged`, so those DMs are updated in this transaction; the open
    reviews citing it are locked first, before the links' rows, in the order a decision takes them."""
    keys = sorted(results)
    before: dict[tuple[str, str], str | None] = {}
    for team_id, urls in _by_team(keys).items():
        before |= {(team_id, url): shown_flag(state, detail) for url, state, detail in session.exec(
            select(EvidenceCheck.url, EvidenceCheck.state, EvidenceCheck.detail)
            .where(EvidenceCheck.team_id == team_id, col(EvidenceCheck.url).in_(urls)))}
    changed = [key for key in keys
               if key in before and before[key] != shown_flag(results[key].state, results[key].detail[:300])]
    lock_open_reviews(session, review_ids={review_id for team_id, urls in _by_team(changed).items()
                                           for review_id in open_reviews_citing(session, team_id=team_id, urls=urls)})
    for team_id, url in keys:
        result = results[(team_id, url)]
        session.execute(
            update(EvidenceCheck).where(col(EvidenceCheck.team_id) == team_id, col(EvidenceCheck.url) == url)
            .values(state=result.state, status_code=result.status_code, detail=result.detail[:300],
                    checked_at=now, due_at=now + RECHECK_EVERY)
        )
    for team_id, url in changed:
        emit(session, EvidenceLinkChanged(team_id=team_id, actor="system", url=url))


def shown_flag(state: str, detail: str | None) -> str | None:
    """What a sign-off DM shows next to a link: why it is flagged, or None when it is not."""
    return (detail or state) if state in FLAGGED else None


def open_reviews_citing(session: Session, *, team_id: str, urls: Iterable[str]) -> set[int]:
    """Ids of the open reviews whose sign-offs cite any of `urls` (every sign-off DM of a review shows them)."""
    wanted = set(urls)
    if not wanted:
        return set()
    rows = session.exec(select(SignOff.review_id, SignOff.evidence_links)
                        .join(GateReview, col(GateReview.id) == SignOff.review_id)
                        .where(SignOff.team_id == team_id, GateReview.state == "open"))
    return {review_id for review_id, links in rows if wanted.intersection(links)}


def flagged_links(session: Session, *, team_id: str, urls: Iterable[str]) -> dict[str, EvidenceCheck]:
    """The links among `urls` whose last check found them broken (or refused to check them), by URL."""
    wanted = list(dict.fromkeys(urls))
    if not wanted:
        return {}
    rows = session.exec(select(EvidenceCheck).where(
        EvidenceCheck.team_id == team_id, col(EvidenceCheck.url).in_(wanted), col(EvidenceCheck.state).in_(FLAGGED)))
    return {row.url: row for row in rows}


def _by_team(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for team_id, url in keys:
        grouped.setdefault(team_id, []).append(url)
    return grouped


def _row(session: Session, team_id: str, url: str) -> EvidenceCheck | None:
    return session.exec(select(EvidenceCheck).where(EvidenceCheck.team_id == team_id,
                                                    EvidenceCheck.url == url)).first()


@dataclass(frozen=True)
class BrokenLink:
    url: str
    detail: str
    checked_at: datetime | None
    initiative_keys: tuple[str, ...]


def broken_links(session: Session, *, audience: Audience, limit: int = 50) -> list[BrokenLink]:
    """Flagged evidence links cited by sign-offs of initiatives still in play that the audience may see, with the
    initiatives citing them. Two queries; the second (every sign-off's links) runs only when something is flagged."""
    team_id = audience.team_id
    flagged = {row.url: row for row in session.exec(
        select(EvidenceCheck).where(EvidenceCheck.team_id == team_id, col(EvidenceCheck.state).in_(FLAGGED)))}
    if not flagged:
        return []
    cited: dict[str, set[int]] = {}
    for links, number in session.exec(
        select(SignOff.evidence_links, Initiative.number)
        .join(GateReview, col(GateReview.id) == SignOff.review_id)
        .join(Initiative, col(Initiative.id) == GateReview.initiative_id)
        .where(SignOff.team_id == team_id, Initiative.status != "retired", visible_to(audience))
    ):
        for url in links:
            if url in flagged:
                cited.setdefault(url, set()).add(number)
    found = [BrokenLink(url=url, detail=row.detail or row.state, checked_at=row.checked_at,
                        initiative_keys=tuple(f"AI-{n}" for n in sorted(cited[url])))
             for url, row in sorted(flagged.items()) if url in cited]
    return found[:limit]
