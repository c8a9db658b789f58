"""Full-text search of initiatives: titles, tags, owners (their names as the bot knows them, and mentions) and
descriptions, ranked, and only among what the reader may see (bot/services/access/visibility.py).

The index is the `initiative_search` table that migration 0022 keeps in step by triggers (storage/search_index.py):
FTS5 ranked with bm25 on SQLite, a weighted tsvector ranked with ts_rank on PostgreSQL. What a person types is
never handed to either query language: it is cut into words (letters and digits only), and the query is built
from those, so quotes, `*`, `-`, `OR`, `NEAR` or a lone `"` are plain text. Every word must match the start of a
word (case-insensitive, no stemming: "forecast" finds "forecasting"); a mentioned person must own the initiative.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Float, Integer, bindparam, func, text
from sqlmodel import Session, col, select

from bot.services.access.service import Audience, visible_to
from bot.services.errors import InvalidInput
from bot.services.validation import check_user_id
from storage.models import Initiative, OwnerAssignment
from storage.search_index import SEARCH_TABLE

# The start and end of a matched word in a snippet: control characters, which no stored text holds
# (bot.services.validation.clean_characters removes them), so a view can tell them from the person's own text.
MATCH_START, MATCH_END = "\x02", "\x03"
MAX_WORDS = 12
MAX_WORD_LENGTH = 40
# Letters and digits: what both backends' tokenizers keep as a word (an underscore or a hyphen separates words).
_WORD = re.compile(r"[^\W_]+")
# Title above tags above owners above the description: a word in the title says most about what it is.
_SQLITE_WEIGHTS = "0.0, 10.0, 5.0, 3.0, 1.0"  # team_id, title, tags, owners, description (migration 0022)
_POSTGRES_WEIGHTS = "{0.1, 0.3, 0.5, 1.0}"  # D (description), C (owners), B (tags), A (title)
_HEADLINE = (f"StartSel={MATCH_START}, StopSel={MATCH_END}, MaxWords=18, MinWords=6, ShortWord=0, "
             "MaxFragments=1, FragmentDelimiter=…")


@dataclass(frozen=True)
class SearchTerms:
    """What to look for: words (lower case, letters and digits) and people who must own what is found."""

    words: tuple[str, ...]
    owners: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.words or self.owners)


@dataclass(frozen=True)
class Hit:
    initiative: Initiative
    owners: dict[str, str]  # role -> user ID
    snippet: str  # from its description, words found between MATCH_START and MATCH_END; "" if none matched there


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    total: int  # how many matched, of which `hits` are the best ranked


def search_terms(words: Iterable[str], *, owners: Iterable[str] = ()) -> SearchTerms:
    """The words of what was typed, whatever syntax it holds, and the people mentioned."""
    found: list[str] = []
    for word in _WORD.findall(" ".join(words).lower()):
        word = word[:MAX_WORD_LENGTH]
        if word not in found:
            found.append(word)
    if len(found) > MAX_WORDS:
        raise InvalidInput(f"Search with at most {MAX_WORDS} words; the fewer, the more it finds.")
    people = tuple(dict.fromkeys(check_user_id(user_id) for user_id in owners))
    return SearchTerms(words=tuple(found), owners=people)


def search_initiatives(session: Session, *, audience: Audience, terms: SearchTerms, limit: int) -> SearchResult:
    """The initiatives matching every term that the audience may see, best first (ties: oldest key first)."""
    if not terms:
        raise InvalidInput("Say what to look for: words from a title, description or tag, or an owner.")
    backend = _POSTGRES if session.get_bind().dialect.name == "postgresql" else _SQLITE
    query = backend.query(terms)
    # Materialised: the index is searched once. As a plain subquery, SQLite's planner may instead search it again
    # for each initiative of the workspace (seconds for a few thousand).
    matches = text(backend.matches).bindparams(query=query, team_id=audience.team_id) \
        .columns(id=Integer, rank=Float).cte("matches").prefix_with("MATERIALIZED")
    found = select(Initiative).join(matches, matches.c.id == Initiative.id).where(visible_to(audience))
    total = int(session.exec(found.with_only_columns(func.count())).one())  # type: ignore[call-overload]
    initiatives = list(session.exec(found.order_by(matches.c.rank.desc(), col(Initiative.number)).limit(limit)))
    ids = [initiative.id for initiative in initiatives]
    # Snippets only for the rows shown: making one reads the whole text again.
    snippets: dict[int, str] = dict(session.execute(
        text(backend.snippets).bindparams(bindparam("ids", expanding=True), query=query, ids=ids)).all()) \
        if ids else {}
    owners = _owners_of(session, ids)
    return SearchResult(total=total, hits=[
        Hit(initiative, owners.get(initiative.id, {}), _marked_only(snippets.get(initiative.id)))
        for initiative in initiatives])


def _marked_only(snippet: str | None) -> str:
    """A snippet that shows a match; none when only the title, tags or owners matched."""
    return snippet if snippet and MATCH_START in snippet else ""


@dataclass(frozen=True)
class _Backend:
    query: Callable[[SearchTerms], str]  # what the person typed, as the backend's query language, built safely
    matches: str  # SQL: (id, rank) of the initiatives of :team_id matching :query, rank higher for a better match
    snippets: str  # SQL: (id, snippet) of the descriptions of initiatives :ids, matches marked


def _fts5_query(terms: SearchTerms) -> str:
    """Each word a quoted prefix (so that no word is ever an operator), each mention an owners-column token."""
    return " AND ".join([f'"{word}"*' for word in terms.words]
                        + [f'owners : "{user_id.lower()}"' for user_id in terms.owners])


def _tsquery(terms: SearchTerms) -> str:
    """Quoted lexemes (so that no word is ever an operator): words as prefixes, mentions in the owners' weight
    (C) only."""
    return " & ".join([f"'{word}':*" for word in terms.words] + [f"'{user_id.lower()}':C" for user_id in terms.owners])


_SQLITE = _Backend(
    query=_fts5_query,
    # bm25 is lower for a better match: negated, so that both backends sort by rank descending.
    matches=f"SELECT rowid AS id, -bm25({SEARCH_TABLE}, {_SQLITE_WEIGHTS}) AS rank FROM {SEARCH_TABLE} "
            f"WHERE {SEARCH_TABLE} MATCH :query AND team_id = :team_id",
    snippets=f"SELECT rowid, snippet({SEARCH_TABLE}, 4, char(2), char(3), '…', 16) FROM {SEARCH_TABLE} "
             f"WHERE {SEARCH_TABLE} MATCH :query AND rowid IN :ids",
)
_POSTGRES = _Backend(
    query=_tsquery,
    matches=f"SELECT s.initiative_id AS id, ts_rank('{_POSTGRES_WEIGHTS}', s.document, q.query) AS rank "
            f"FROM {SEARCH_TABLE} s, to_tsquery('simple', :query) AS q(query) "
            "WHERE s.document @@ q.query AND s.team_id = :team_id",
    snippets=f"SELECT i.id, ts_headline('simple', i.description || ' ' || i.problem, to_tsquery('simple', :query), "
             f"'{_HEADLINE}') FROM initiative i WHERE i.id IN :ids",
)


def _owners_of(session: Session, initiative_ids: Sequence[int | None]) -> dict[int, dict[str, str]]:
    owners: dict[int, dict[str, str]] = {}
    if not initiative_ids:
        return owners
    rows = session.exec(select(OwnerAssignment).where(col(OwnerAssignment.initiative_id).in_(initiative_ids))
                        .order_by(col(OwnerAssignment.id)))
    for row in rows:
        owners.setdefault(row.initiative_id, {})[row.role] = row.user_id
    return owners
