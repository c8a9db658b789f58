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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Integer, String, func, literal_column, text
from sqlmodel import Session, col, select

from bot.services.access.visibility import Audience, visible_to
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
             "MaxFragments=1, FragmentDelimiter=\" … \"")


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
    postgres = session.get_bind().dialect.name == "postgresql"
    matches = (_postgres_matches if postgres else _sqlite_matches)(terms, team_id=audience.team_id)
    visible = select(Initiative.id).where(visible_to(audience))  # type: ignore[call-overload]
    total = int(session.exec(select(func.count()).select_from(matches)  # type: ignore[call-overload]
                             .where(matches.c.id.in_(visible))).one())
    snippet = _postgres_snippet(matches) if postgres else matches.c.snippet
    rows = session.exec(
        select(Initiative, snippet).join(matches, matches.c.id == Initiative.id)  # type: ignore[call-overload]
        .where(visible_to(audience)).order_by(matches.c.rank.desc(), col(Initiative.number)).limit(limit)
    ).all()
    owners = _owners_of(session, [initiative.id for initiative, _ in rows])
    hits = [Hit(initiative, owners.get(initiative.id, {}), found if MATCH_START in (found or "") else "")
            for initiative, found in rows]
    return SearchResult(hits=hits, total=total)


def _sqlite_matches(terms: SearchTerms, *, team_id: str) -> Any:
    """FTS5: each word a quoted prefix (so no word is ever an operator), each mention an owners-column token."""
    query = " AND ".join([f'"{word}"*' for word in terms.words]
                         + [f'owners : "{user_id.lower()}"' for user_id in terms.owners])
    # bm25 is lower for a better match: negated, so that both backends sort by rank descending.
    return text(
        f"SELECT rowid AS id, -bm25({SEARCH_TABLE}, {_SQLITE_WEIGHTS}) AS rank, "
        f"snippet({SEARCH_TABLE}, 4, char(2), char(3), '…', 16) AS snippet "
        f"FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH :query AND team_id = :team_id"
    ).bindparams(query=query, team_id=team_id).columns(id=Integer, rank=Float, snippet=String).subquery("matches")


def _postgres_matches(terms: SearchTerms, *, team_id: str) -> Any:
    """A tsquery of quoted lexemes (so no word is ever an operator): words as prefixes, mentions in the owners'
    weight (C) only."""
    query = " & ".join([f"'{word}':*" for word in terms.words] + [f"'{user_id.lower()}':C" for user_id in terms.owners])
    return text(
        f"SELECT s.initiative_id AS id, ts_rank('{_POSTGRES_WEIGHTS}', s.document, q.query) AS rank, q.query "
        f"FROM {SEARCH_TABLE} s, to_tsquery('simple', :query) AS q(query) "
        "WHERE s.document @@ q.query AND s.team_id = :team_id"
    ).bindparams(query=query, team_id=team_id).columns(id=Integer, rank=Float,
                                                         query=String).subquery("matches")


def _postgres_snippet(matches: Any) -> Any:
    """Computed for the shown rows only: ts_headline reads the whole text again."""
    document = col(Initiative.description) + literal_column("' '") + col(Initiative.problem)
    return func.ts_headline(literal_column("'simple'::regconfig"), document, matches.c.query, _HEADLINE)


def _owners_of(session: Session, initiative_ids: Sequence[int | None]) -> dict[int, dict[str, str]]:
    owners: dict[int, dict[str, str]] = {}
    if not initiative_ids:
        return owners
    rows = session.exec(select(OwnerAssignment).where(col(OwnerAssignment.initiative_id).in_(initiative_ids))
                        .order_by(col(OwnerAssignment.id)))
    for row in rows:
        owners.setdefault(row.initiative_id, {})[row.role] = row.user_id
    return owners
