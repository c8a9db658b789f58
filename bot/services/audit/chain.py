"""The audit hash chain: canonical form of an event, serialised appends, and verification.

Each workspace's events form one chain, numbered by `seq` (1, 2, 3...). An event's `hash` is
SHA-256(prev_hash + canonical form), where `prev_hash` is the hash of the event before it (64 zeros for the first).

People are hashed by an opaque ref, not by their Slack ID: before hashing, every Slack-ID-shaped token in the
event's text (the actor, and any ID inside the subject, before or after) is replaced by that token's ref from the
`audit_identity` table. Pseudonymising a person rewrites their ID everywhere and in the identity row alike, so the
canonical form, and every hash, stay the same (see bot/services/audit/identity.py).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import re
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import Connection, select, text
from sqlmodel import col

from storage.db import make_engine
from storage.models import AuditEvent, AuditIdentity

GENESIS = "0" * 64
CANONICAL_FORMAT = 1
# A Slack user ID (validation.USER_ID_PATTERN) standing on its own, inside any text.
PERSON_TOKEN = re.compile(r"(?<![A-Za-z0-9])[UW][A-Z0-9]{2,30}(?![A-Za-z0-9])")
# In JSON text without escapes: a person token inside a key (the rest of its string is followed by a colon).
_PERSON_IN_KEY = re.compile(PERSON_TOKEN.pattern + r'[^"]*":')
VERIFY_BATCH = 5000


@dataclass(frozen=True)
class ChainFields:
    """What the hash covers (besides the previous hash)."""

    team_id: str
    seq: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_key: str
    initiative_id: int | None
    definition_version: int | None
    before: Any
    after: Any


def normalise_json(value: Any) -> Any:
    """The value as it reads back from a JSON column (tuples become lists, keys become strings)."""
    return None if value is None else json.loads(json.dumps(value))


def replace_people(value: Any, replacements: Mapping[str, str]) -> Any:
    """`value` with every person token found in `replacements` swapped, in strings and keys, at any depth."""
    if isinstance(value, str):
        return PERSON_TOKEN.sub(lambda m: replacements.get(m.group(), m.group()), value)
    if isinstance(value, dict):
        return {replace_people(k, replacements): replace_people(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_people(item, replacements) for item in value]
    return value


def person_tokens(fields: ChainFields) -> set[str]:
    """Every Slack-ID-shaped token in an event: each needs a ref before the event can be hashed."""
    found: set[str] = set()
    pending: list[Any] = [fields.team_id, fields.actor, fields.action, fields.subject_type, fields.subject_key,
                          fields.before, fields.after]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            found.update(PERSON_TOKEN.findall(value))
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return found


def ref_replacements(refs: Mapping[str, str]) -> dict[str, str]:
    """Slack ID -> the text that stands for that person in the canonical form."""
    return {user_id: f"person:{ref}" for user_id, ref in refs.items()}


def canonical(fields: ChainFields, replacements: Mapping[str, str]) -> str:
    """The event as one deterministic JSON text, people replaced by their refs.

    By definition `dumps(replace_people([format, team, seq, at, actor, action, subject_type, subject_key,
    initiative_id, definition_version, before, after]))`; built element by element, since a JSON list's text is
    its elements' texts joined by commas, so that elements without a person (most) skip the search for one.
    """
    swap = _swapper(replacements)
    return _assemble(_string(fields.team_id, swap), fields.seq, _time(fields.at), _string(fields.actor, swap),
                     _string(fields.action, swap), _string(fields.subject_type, swap),
                     _string(fields.subject_key, swap), _number(fields.initiative_id),
                     _number(fields.definition_version), _value(fields.before, replacements, swap),
                     _value(fields.after, replacements, swap))


def _assemble(team: str, seq: int, at: str, actor: str, action: str, subject_type: str, subject_key: str,
              initiative_id: str, definition_version: str, before: str, after: str) -> str:
    """The one place the elements' order is written down: each argument (but seq) is already its JSON text."""
    return (f"[{CANONICAL_FORMAT},{team},{seq},{at},{actor},{action},{subject_type},{subject_key},{initiative_id},"
            f"{definition_version},{before},{after}]")


_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_quote = encode_basestring  # what _dumps does with a str, without the detour


def _swapper(replacements: Mapping[str, str]) -> Callable[[re.Match[str]], str]:
    def swap(match: re.Match[str]) -> str:
        return replacements.get(match.group(), match.group())

    return swap


def _time(at: datetime) -> str:
    return _quote(at.astimezone(UTC).isoformat(timespec="microseconds"))


def _string(value: str, swap: Callable[[re.Match[str]], str]) -> str:
    if "U" in value or "W" in value:
        value = PERSON_TOKEN.sub(swap, value)
    return _quote(value)


def _number(value: int | None) -> str:
    return "null" if value is None else str(value)


def _value(value: Any, replacements: Mapping[str, str], swap: Callable[[re.Match[str]], str]) -> str:
    serialised = _dumps(value)
    if "U" not in serialised and "W" not in serialised:
        return serialised
    if "\\" not in serialised and not _PERSON_IN_KEY.search(serialised):
        # Without escapes the text holds every string verbatim between non-alphanumeric punctuation, so replacing
        # tokens in the text equals replacing them in each string. Keys holding a person are excluded: replaced
        # keys sort differently.
        return PERSON_TOKEN.sub(swap, serialised)
    return _dumps(replace_people(value, replacements))


def chain_hash(prev_hash: str, canonical_text: str) -> str:
    return hashlib.sha256((prev_hash + canonical_text).encode()).hexdigest()


def lock_chain(connection: Connection, *, team_id: str) -> None:
    """Hold the workspace's chain until the transaction ends, so appends never fork it.

    PostgreSQL: a transaction-level advisory lock keyed by the workspace. SQLite: nothing to do, every write
    transaction starts with BEGIN IMMEDIATE (storage/db.py) and so already runs alone.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(team_id)})


def _lock_key(team_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"audit-chain:{team_id}".encode()).digest()[:8], "big", signed=True)


def chain_head(connection: Connection, *, team_id: str) -> tuple[int, str]:
    """(seq, hash) of the workspace's last event, or (0, GENESIS): one query on the (team_id, seq) index."""
    row = connection.execute(
        select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.team_id == team_id)
        .order_by(col(AuditEvent.seq).desc()).limit(1)
    ).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def all_refs(connection: Connection, *, team_id: str) -> dict[str, str]:
    rows = connection.execute(select(AuditIdentity.user_id, AuditIdentity.ref).where(AuditIdentity.team_id == team_id))
    return {user_id: ref for user_id, ref in rows}


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the stored chain is not what was written."""

    event_id: int
    seq: int
    at: datetime | None  # None when the stored time itself was replaced by something that is not a time
    problem: str

    def describe(self, team_id: str) -> str:
        when = self.at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if self.at else "no time"
        return f"Broken link at event {self.event_id} (#{self.seq} of {team_id}, {when}): {self.problem}."


@dataclass(frozen=True)
class ChainReport:
    team_id: str
    checked: int
    head_hash: str
    broken: ChainBreak | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def describe(self) -> str:
        if self.broken:
            return self.broken.describe(self.team_id)
        return f"Audit chain of {self.team_id} verifies: {self.checked} events checked; head hash {self.head_hash}."


def verify_chain(connection: Connection, *, team_id: str, processes: int = 1) -> ChainReport:
    """Walk the workspace's chain in order and report the first broken link. Constant memory.

    With `processes` > 1 and a long chain, the chain is cut into that many stretches by `seq`, checked at once in
    separate processes (this one takes the first, in `connection`'s transaction; on SQLite a transaction started
    by BEGIN IMMEDIATE keeps writers out until all are done). Each stretch checks its own events and links; the
    seams between stretches are checked here, in chain order, so the report is the one a single walk gives.
    Only for single-threaded callers such as the CLI: the other processes are forked.
    """
    replacements = ref_replacements(all_refs(connection, team_id=team_id))
    head, _ = chain_head(connection, team_id=team_id)
    if head < PARALLEL_FROM or not _reachable_elsewhere(connection):
        processes = 1
    bounds = _stretch_bounds(head, max(processes, 1))
    dialect = connection.dialect.name
    if len(bounds) == 1:
        return _join(team_id, [_check_range(connection.connection, dialect, team_id, replacements, *bounds[0])])
    url = connection.engine.url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(len(bounds) - 1, mp_context=_FORK) as pool:
        others = [pool.submit(_check_elsewhere, url, team_id, replacements, *stretch) for stretch in bounds[1:]]
        first = _check_range(connection.connection, dialect, team_id, replacements, *bounds[0])
        return _join(team_id, [first, *(future.result() for future in others)])


# Below this many events, starting processes costs more than it saves.
PARALLEL_FROM = 100_000
_LOWEST, _HIGHEST = -(2**63), 2**63 - 1
# Forked, not spawned: the workers need nothing but this module, already imported here.
_FORK = multiprocessing.get_context("fork")


def _reachable_elsewhere(connection: Connection) -> bool:
    """Whether another process can open this database (not so an in-memory SQLite one)."""
    return connection.dialect.name != "sqlite" or connection.engine.url.database not in (None, "", ":memory:")


def _stretch_bounds(head: int, count: int) -> list[tuple[int, int]]:
    """`count` ranges of seq covering 1..head evenly, and together every seq there is (the ends are open)."""
    cuts = [1 + head * index // count for index in range(1, count)]
    return list(zip([_LOWEST, *cuts], [cut - 1 for cut in cuts] + [_HIGHEST], strict=True))


@dataclass(frozen=True)
class _Link:
    """What the next event must be: its seq, the hash it must point to, and the id it must not precede."""

    next_seq: int
    prev_hash: str
    prev_id: int


@dataclass(frozen=True)
class _Stretch:
    """One stretch checked on its own, trusting its first event's link (which the caller checks at the seam)."""

    first: tuple[int, int, Any, str] | None  # event id, seq, at, prev_hash; None if the stretch is empty
    checked: int
    end: _Link | None
    broken: ChainBreak | None


def _join(team_id: str, stretches: list[_Stretch]) -> ChainReport:
    """The report for stretches in chain order: each seam checked, the first break in chain order reported."""
    link, checked = _Link(1, GENESIS, 0), 0
    for stretch in stretches:
        if stretch.first is None or stretch.end is None:
            continue
        event_id, seq, at, stored_prev = stretch.first
        problem = _link_problem(link.next_seq, link.prev_hash, link.prev_id, seq, event_id, stored_prev)
        if problem:
            return ChainReport(team_id, checked, link.prev_hash, ChainBreak(event_id, seq, _readable_time(at), problem))
        checked += stretch.checked
        if stretch.broken:
            return ChainReport(team_id, checked, stretch.end.prev_hash, stretch.broken)
        link = stretch.end
    return ChainReport(team_id, checked, link.prev_hash)


def _check_elsewhere(url: str, team_id: str, replacements: dict[str, str], first_seq: int, last_seq: int) -> _Stretch:
    """A stretch checked in a worker process, on a connection of its own."""
    engine = make_engine(url, pool_size=1)
    try:
        connection = engine.raw_connection()
        try:
            return _check_range(connection, engine.dialect.name, team_id, replacements, first_seq, last_seq)
        finally:
            connection.close()
    finally:
        engine.dispose()


# Plain DB-API reads: no SQLAlchemy row processing, and no BEGIN IMMEDIATE (storage/db.py) that would make workers
# on SQLite wait for each other. JSON comes as text on both backends, so that a repeated value is known by its text;
# `at` as the UTC text SQLite stores, which PostgreSQL formats faster than Python would (see `_stored_time`).
_EVENTS_IN_RANGE = (
    "SELECT id, seq, {at}, actor, action, subject_type, subject_key, initiative_id, definition_version, "
    "CAST(before AS TEXT), CAST(after AS TEXT), prev_hash, hash FROM audit_event "
    "WHERE team_id = {mark} AND seq >= {mark} AND seq <= {mark} ORDER BY seq"
)
_POSTGRES_AT = "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"


def _check_range(dbapi_connection: Any, dialect: str, team_id: str, replacements: dict[str, str], first_seq: int,
                 last_seq: int) -> _Stretch:
    postgres = dialect == "postgresql"
    # PostgreSQL: a server-side cursor, so that the stretch streams instead of arriving whole.
    cursor = dbapi_connection.cursor(name="audit_verify") if postgres else dbapi_connection.cursor()
    try:
        query = _EVENTS_IN_RANGE.format(at=_POSTGRES_AT, mark="%s") if postgres else \
            _EVENTS_IN_RANGE.format(at="at", mark="?")
        cursor.execute(query, (team_id, first_seq, last_seq))
        return _check_stretch(_batches(cursor), team_id, replacements)
    finally:
        cursor.close()


def _batches(cursor: Any) -> Iterator[tuple[Any, ...]]:
    while batch := cursor.fetchmany(VERIFY_BATCH):
        yield from batch


def _check_stretch(rows: Iterator[tuple[Any, ...]], team_id: str, replacements: dict[str, str]) -> _Stretch:
    """Check each event's hash over its canonical form, and each link after the first."""
    head = next(rows, None)
    if head is None:
        return _Stretch(None, 0, None, None)
    first = (head[0], head[1], head[2], head[11])
    next_seq, prev_hash, prev_id, checked = head[1], head[11], head[0], 0
    swap = _swapper(replacements)
    team = _string(team_id, swap)
    # Texts repeat (people, actions, `{"state": "pending"}`): each distinct one is rendered once. Keys are the stored
    # texts (JSON is read as text), never numbers, which a dict would take 1 and 1.0 to be the same.
    strings: dict[str, str] = {}
    values: dict[str | None, str] = {}

    def string(value: str) -> str:
        return _remember(strings, value, _string(value, swap))

    def value(stored: str | None) -> str:
        return _remember(values, stored, _value(_as_json(stored), replacements, swap))

    for event_id, seq, at, actor, action, subject_type, subject_key, initiative_id, version, before, after, \
            stored_prev, stored_hash in chain([head], rows):
        problem = _link_problem(next_seq, prev_hash, prev_id, seq, event_id, stored_prev)
        if problem is None:
            try:
                canonical_text = _assemble(
                    team, seq, _stored_time(at), strings.get(actor) or string(actor),
                    strings.get(action) or string(action), strings.get(subject_type) or string(subject_type),
                    strings.get(subject_key) or string(subject_key), _number(initiative_id), _number(version),
                    values.get(before) or value(before), values.get(after) or value(after))
            except ValueError:  # a time or JSON text that no longer parses was not written by the bot
                canonical_text = None
            if canonical_text is not None and chain_hash(stored_prev, canonical_text) == stored_hash:
                next_seq, prev_hash, prev_id, checked = seq + 1, stored_hash, event_id, checked + 1
                continue
            problem = (f"its content was changed after it was written (it now reads: {action} by {actor} on "
                       f"{subject_type} {subject_key} at {at}, before={_readable_json(before)}, "
                       f"after={_readable_json(after)})")
        return _Stretch(first, checked, _Link(next_seq, prev_hash, prev_id),
                        ChainBreak(event_id, seq, _readable_time(at), problem))
    return _Stretch(first, checked, _Link(next_seq, prev_hash, prev_id), None)


_MEMO_LIMIT = 4096  # entries per memo: bounded memory, whatever the chain holds


def _remember(memo: dict[Any, str], key: Any, text: str) -> str:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = text
    return text


def _link_problem(next_seq: int, prev_hash: str, prev_id: int, seq: int, event_id: int,
                  stored_prev: str) -> str | None:
    """What is wrong with an event's link to the one verified before it (see `_Link`), if anything."""
    if seq != next_seq:
        missing = f"#{next_seq}" if seq == next_seq + 1 else f"#{next_seq} to #{seq - 1}"
        return f"event {missing} is missing before it (deleted)"
    if event_id < prev_id:
        return f"it was written before event {prev_id}, which comes before it in the chain (rows were reordered)"
    if stored_prev != prev_hash:
        return f"the event before it (#{seq - 1}) was replaced or rewritten after this one was appended"
    return None


def _stored_time(value: str | datetime) -> str:
    """The canonical text of a stored `at`, as `_time` renders it.

    SQLite holds it as UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (storage/types.py), and PostgreSQL is asked for the
    same; the canonical text is that text with a T and the offset, so it skips the parse. The mapping is one-to-one,
    so text changed in any way still fails the hash. Any other text goes the long way.
    """
    if isinstance(value, str) and len(value) == 26 and value[10] == " ":
        return f'"{value[:10]}T{value[11:]}+00:00"'
    return _time(_as_utc(value))


def _as_utc(value: datetime | str) -> datetime:
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _readable_time(value: datetime | str) -> datetime | None:
    try:
        return _as_utc(value)
    except ValueError:
        return None


def _readable_json(stored: Any) -> str:
    try:
        return _short(_as_json(stored))
    except ValueError:
        return _short(str(stored)) + " (not JSON)"


def _short(value: Any, limit: int = 120) -> str:
    serialised = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return serialised if len(serialised) <= limit else serialised[: limit - 1] + "…"
