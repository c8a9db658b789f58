"""search: a full-text index of initiatives (titles, tags, owners' names and IDs, descriptions and problems)

`/initiative find` ranks initiatives by it (bot/services/initiatives/search.py). Kept in step by triggers on
`initiative`, `owner_assignment` and `audit_identity` (whose last display name is an owner's name as the bot knows
it), so every write path updates it: the services, imports, pseudonymisation, plain SQL. The upgrade fills it
from the existing rows. Outside the models (storage/search_index.py).

- SQLite: an FTS5 table, ranked with bm25. Tokenizer unicode61 without removing diacritics, so that a word
  matches what PostgreSQL's 'simple' configuration matches (accents count on both).
- PostgreSQL: a table of weighted tsvectors (title A, tags B, owners C, description and problem D) with a GIN
  index, ranked with ts_rank. The 'simple' configuration, not 'english': the portfolio mixes English with
  people's names, product names, acronyms and other languages, and 'english' drops its stop words (an owner
  called Will is never found) and stems names; the search matches word prefixes instead ("forecast" finds
  "forecasting"), which behaves the same on both backends. Text is cut into runs of letters and digits first,
  as SQLite's tokenizer cuts it ('3.5' and 'wiki.example.com' are words apart, not one lexeme).
- Downgrade: the triggers, their functions and the index go; no other table is touched.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The initiative's owners as one text: each owner's Slack ID (so that a mention finds their initiatives) and the
# last display name the bot recorded for them (audit_identity.display_names: [[since, name], ...], oldest first).
_SQLITE_OWNERS = """coalesce((SELECT group_concat(o.user_id || ' ' ||
    coalesce(json_extract(a.display_names, '$[#-1][1]'), ''), ' ')
    FROM owner_assignment o LEFT JOIN audit_identity a ON a.team_id = o.team_id AND a.user_id = o.user_id
    WHERE o.initiative_id = i.id), '')"""
_SQLITE_TAGS = "coalesce((SELECT group_concat(t.value, ' ') FROM json_each(i.tags) t), '')"


def _sqlite_fill(where: str) -> str:
    """The statement that indexes the initiatives `i` matching `where`."""
    return f"""INSERT INTO initiative_search (rowid, team_id, title, tags, owners, description)
    SELECT i.id, i.team_id, i.title, {_SQLITE_TAGS}, {_SQLITE_OWNERS}, i.description || char(10) || i.problem
    FROM initiative i WHERE {where}"""


def _sqlite_refill(where: str) -> str:
    """Statements (inside a trigger) that rewrite the index rows of the initiatives `i` matching `where`."""
    return (f"DELETE FROM initiative_search WHERE rowid IN (SELECT i.id FROM initiative i WHERE {where}); "
            f"{_sqlite_fill(where)};")


_OWNED_BY = ("i.id IN (SELECT o.initiative_id FROM owner_assignment o "
             "WHERE o.team_id = {row}.team_id AND o.user_id = {row}.user_id)")

SQLITE_TRIGGERS = {
    "initiative_search_initiative_insert": ("AFTER INSERT ON initiative", _sqlite_refill("i.id = NEW.id")),
    "initiative_search_initiative_update": ("AFTER UPDATE OF title, description, problem, tags ON initiative",
                                            _sqlite_refill("i.id = NEW.id")),
    "initiative_search_initiative_delete": ("AFTER DELETE ON initiative",
                                            "DELETE FROM initiative_search WHERE rowid = OLD.id;"),
    "initiative_search_owner_insert": ("AFTER INSERT ON owner_assignment",
                                       _sqlite_refill("i.id = NEW.initiative_id")),
    "initiative_search_owner_update": ("AFTER UPDATE ON owner_assignment",
                                       _sqlite_refill("i.id IN (OLD.initiative_id, NEW.initiative_id)")),
    "initiative_search_owner_delete": ("AFTER DELETE ON owner_assignment",
                                       _sqlite_refill("i.id = OLD.initiative_id")),
    "initiative_search_identity_insert": ("AFTER INSERT ON audit_identity", _sqlite_refill(_OWNED_BY.format(row="NEW"))),
    "initiative_search_identity_update": ("AFTER UPDATE OF user_id, display_names ON audit_identity",
                                          _sqlite_refill(f"{_OWNED_BY.format(row='OLD')} OR "
                                                         f"{_OWNED_BY.format(row='NEW')}")),
}


def _pg_words(expression: str) -> str:
    """Text as the words SQLite's unicode61 tokenizer and the search's query make of it: runs of letters and
    digits. PostgreSQL's parser alone would keep "3.5", e-mail addresses and host names as single lexemes,
    which a search for "5" or "example" would then never match on one backend but match on the other."""
    return f"to_tsvector('simple', regexp_replace({expression}, '[^[:alnum:]]+', ' ', 'g'))"


_PG_TAGS = "coalesce((SELECT string_agg(t.value, ' ') FROM jsonb_array_elements_text(i.tags) AS t(value)), '')"
_PG_OWNERS = """coalesce((SELECT string_agg(o.user_id || ' ' || coalesce(a.display_names -> -1 ->> 1, ''), ' ')
    FROM owner_assignment o LEFT JOIN audit_identity a ON a.team_id = o.team_id AND a.user_id = o.user_id
    WHERE o.initiative_id = i.id), '')"""
POSTGRES_REFILL = f"""
CREATE FUNCTION initiative_search_refill(ids integer[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO initiative_search (initiative_id, team_id, document)
  SELECT i.id, i.team_id,
         setweight({_pg_words("i.title")}, 'A') || setweight({_pg_words(_PG_TAGS)}, 'B')
      || setweight({_pg_words(_PG_OWNERS)}, 'C') || setweight({_pg_words("i.description || ' ' || i.problem")}, 'D')
  FROM initiative i WHERE i.id = ANY(ids)
  ON CONFLICT (initiative_id) DO UPDATE SET document = EXCLUDED.document
$$"""

# (function, trigger event, body): each trigger function refills the initiatives the changed row concerns.
POSTGRES_TRIGGERS = (
    ("initiative_search_on_initiative", "AFTER INSERT OR UPDATE OF title, description, problem, tags ON initiative",
     "PERFORM initiative_search_refill(ARRAY[NEW.id]);"),
    ("initiative_search_on_owner", "AFTER INSERT OR UPDATE OR DELETE ON owner_assignment",
     """IF TG_OP <> 'INSERT' THEN PERFORM initiative_search_refill(ARRAY[OLD.initiative_id]); END IF;
        IF TG_OP <> 'DELETE' THEN PERFORM initiative_search_refill(ARRAY[NEW.initiative_id]); END IF;"""),
    ("initiative_search_on_identity", "AFTER INSERT OR UPDATE OF user_id, display_names ON audit_identity",
     """PERFORM initiative_search_refill(ARRAY(SELECT o.initiative_id FROM owner_assignment o
            WHERE o.team_id = NEW.team_id AND (o.user_id = NEW.user_id
                  OR (TG_OP = 'UPDATE' AND o.user_id = OLD.user_id))));"""),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _upgrade_sqlite() -> None:
    op.execute("CREATE VIRTUAL TABLE initiative_search USING fts5(team_id UNINDEXED, title, tags, owners, "
               "description, tokenize = 'unicode61 remove_diacritics 0')")
    for name, (event, body) in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {event} BEGIN {body} END")
    op.execute(_sqlite_fill("1 = 1"))  # the initiatives already there


def _upgrade_postgresql() -> None:
    op.execute("""CREATE TABLE initiative_search (
        initiative_id integer PRIMARY KEY REFERENCES initiative (id) ON DELETE CASCADE,
        team_id varchar(32) NOT NULL,
        document tsvector NOT NULL)""")
    op.execute("CREATE INDEX ix_initiative_search_document ON initiative_search USING gin (document)")
    op.execute(POSTGRES_REFILL)
    for function, event, body in POSTGRES_TRIGGERS:
        op.execute(f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} "
                   "RETURN NULL; END $$")
        op.execute(f"CREATE TRIGGER {function} {event} FOR EACH ROW EXECUTE FUNCTION {function}()")
    op.execute("SELECT initiative_search_refill(ARRAY(SELECT id FROM initiative))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for function, event, _ in POSTGRES_TRIGGERS:
            table = event.rsplit(" ON ", 1)[1]
            op.execute(f"DROP TRIGGER {function} ON {table}")
            op.execute(f"DROP FUNCTION {function}()")
        op.execute("DROP FUNCTION initiative_search_refill(integer[])")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE initiative_search")
