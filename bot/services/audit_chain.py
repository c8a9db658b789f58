"""The audit hash chain: canonical form of an event, serialised appends, and verification.

Each workspace's events form one chain, numbered by `seq` (1, 2, 3...). An event's `hash` is
SHA-256(prev_hash + canonical form), where `prev_hash` is the hash of the event before it (64 zeros for the first).

People are hashed by an opaque ref, not by their Slack ID: before hashing, every Slack-ID-shaped token in the
event's text (the actor, and any ID inside the subject, before or after) is replaced by that token's ref from the
`audit_identity` table. Pseudonymising a person rewrites their ID everywhere and in the identity row alike, so the
canonical form, and every hash, stay the same (see bot/services/audit_identity.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import Connection, select, text
from sqlmodel import col

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
    return _canonical(fields.team_id, fields.seq, fields.at, fields.actor, fields.action, fields.subject_type,
                      fields.subject_key, fields.initiative_id, fields.definition_version, fields.before,
                      fields.after, replacements, _swapper(replacements))


def _canonical(team_id: str, seq: int, at: datetime, actor: str, action: str, subject_type: str, subject_key: str,
               initiative_id: int | None, definition_version: int | None, before: Any, after: Any,
               replacements: Mapping[str, str], swap: Callable[[re.Match[str]], str]) -> str:
    parts = [
        str(CANONICAL_FORMAT), _string(team_id, swap), str(seq),
        _quote(at.astimezone(UTC).isoformat(timespec="microseconds")), _string(actor, swap), _string(action, swap),
        _string(subject_type, swap), _string(subject_key, swap), _number(initiative_id), _number(definition_version),
        _value(before, replacements, swap), _value(after, replacements, swap),
    ]
    return "[" + ",".join(parts) + "]"


_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_quote = encode_basestring  # what _dumps does with a str, without the detour


def _swapper(replacements: Mapping[str, str]) -> Callable[[re.Match[str]], str]:
    def swap(match: re.Match[str]) -> str:
        return replacements.get(match.group(), match.group())

    return swap


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
    at: datetime
    problem: str

    def describe(self, team_id: str) -> str:
        when = self.at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
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


# Raw driver values (no per-column type processing, which would cost more than the hashing): SQLite hands back
# text for `at` and the JSON columns, PostgreSQL a datetime and parsed JSON.
_EVENTS_IN_ORDER = text(
    "SELECT id, seq, at, actor, action, subject_type, subject_key, initiative_id, definition_version, before, "
    "after, prev_hash, hash FROM audit_event WHERE team_id = :team_id ORDER BY seq"
)


def verify_chain(connection: Connection, *, team_id: str) -> ChainReport:
    """Walk the workspace's chain in order and stop at the first broken link. Constant memory."""
    replacements = ref_replacements(all_refs(connection, team_id=team_id))
    swap = _swapper(replacements)
    expected_seq, prev_hash, prev_id, checked = 1, GENESIS, 0, 0
    rows = connection.execution_options(stream_results=True, yield_per=VERIFY_BATCH).execute(
        _EVENTS_IN_ORDER, {"team_id": team_id})
    for event_id, seq, at, actor, action, subject_type, subject_key, initiative_id, version, before, after, \
            stored_prev, stored_hash in rows:
        at, before, after = _as_utc(at), _as_json(before), _as_json(after)
        if seq != expected_seq or event_id < prev_id or stored_prev != prev_hash:
            problem = _link_problem(seq, expected_seq, event_id, prev_id)
        elif chain_hash(stored_prev, _canonical(team_id, seq, at, actor, action, subject_type, subject_key,
                                                initiative_id, version, before, after, replacements, swap)) \
                != stored_hash:
            problem = (f"its content was changed after it was written (it now reads: {action} by {actor} on "
                       f"{subject_type} {subject_key}, before={_short(before)}, after={_short(after)})")
        else:
            expected_seq, prev_hash, prev_id, checked = seq + 1, stored_hash, event_id, checked + 1
            continue
        return ChainReport(team_id, checked, prev_hash, ChainBreak(event_id, seq, at, problem))
    return ChainReport(team_id, checked, prev_hash)


def _link_problem(seq: int, expected_seq: int, event_id: int, prev_id: int) -> str:
    if seq != expected_seq:
        missing = f"#{expected_seq}" if seq == expected_seq + 1 else f"#{expected_seq} to #{seq - 1}"
        return f"event {missing} is missing before it (deleted)"
    if event_id < prev_id:
        return f"it was written before event {prev_id}, which comes before it in the chain (rows were reordered)"
    return f"the event before it (#{seq - 1}) was replaced or rewritten after this one was appended"


def _as_utc(value: datetime | str) -> datetime:
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _short(value: Any, limit: int = 120) -> str:
    serialised = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return serialised if len(serialised) <= limit else serialised[: limit - 1] + "…"
