"""The search index of posts, one definition for the models and the migration.

SQLite: an FTS5 table with the `trigram` tokenizer (SQLite 3.34 or later).
It indexes every three-character sequence of `posts.body`, case-folded, so a
query of three or more characters finds any post containing it, Chinese
included, with no word splitting. It is an external-content table (it keeps
only the index; the text stays in `posts`), and triggers keep it in step with
every INSERT, UPDATE and DELETE on `posts`, whichever code path writes them,
`flasky fake`'s bulk inserts included.

PostgreSQL: a `pg_trgm` GIN index on `posts.body`, which serves `ILIKE
'%...%'` for patterns of three or more characters; the database keeps it in
step by itself.

PostgreSQL also has `pg_trgm` GIN indexes on `users.username` and
`users.name` (migration 0010), for the users a search lists.

A trigram cannot look up a word of one or two characters, and most Chinese
words are two characters. For those, PostgreSQL also indexes, in GIN
indexes on `short_word_grams(posts.body)`, `(users.username)` and
`(users.name)` (migration 0011), every character and pair of adjacent
characters of a text's non-ASCII characters (ASCII removed, so an English
post adds nothing). See `SHORT_WORD_GRAMS`.

Both are created by migration 0005 and, for databases built with
`Base.metadata.create_all`, by the DDL events `attach` registers on the
`posts` table. `alembic check` ignores them (`is_search_object`, used by
alembic/env.py): autogenerate cannot describe a virtual table or an operator
class index.

A later migration that rebuilds `posts` on SQLite (a batch migration copies
the table and drops the old one) drops the triggers with it, and must run
`SQLITE_TRIGGERS` again, and `SQLITE_REBUILD`.
"""

from __future__ import annotations

from sqlalchemy import DDL, FromClause, event

# The names the SQL below spells out.
TABLE = "posts_search"
POSTGRESQL_INDEX = "ix_posts_body_trgm"

SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE posts_search USING fts5("
    "body, content='posts', content_rowid='id', tokenize='trigram')"
)
# An external-content table is told what left: the old row's values, under
# the 'delete' command, before the new ones go in.
SQLITE_TRIGGERS = (
    """CREATE TRIGGER posts_search_insert AFTER INSERT ON posts BEGIN
  INSERT INTO posts_search (rowid, body) VALUES (new.id, new.body);
END""",
    """CREATE TRIGGER posts_search_delete AFTER DELETE ON posts BEGIN
  INSERT INTO posts_search (posts_search, rowid, body) VALUES ('delete', old.id, old.body);
END""",
    """CREATE TRIGGER posts_search_update AFTER UPDATE OF body ON posts BEGIN
  INSERT INTO posts_search (posts_search, rowid, body) VALUES ('delete', old.id, old.body);
  INSERT INTO posts_search (rowid, body) VALUES (new.id, new.body);
END""",
)
# Reindexes every row of `posts`: the migration fills the index with it.
SQLITE_REBUILD = "INSERT INTO posts_search (posts_search) VALUES ('rebuild')"
SQLITE_CREATE = (SQLITE_TABLE, *SQLITE_TRIGGERS)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS posts_search_insert",
    "DROP TRIGGER IF EXISTS posts_search_delete",
    "DROP TRIGGER IF EXISTS posts_search_update",
    "DROP TABLE IF EXISTS posts_search",
)

# pg_trgm is a trusted extension (PostgreSQL 13 and later): the database's
# owner may create it. Debian's and the official images' PostgreSQL ship it.
POSTGRESQL_CREATE = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_posts_body_trgm ON posts USING gin (body gin_trgm_ops)",
)
# The extension stays: other objects may use it, and dropping one needs more rights.
POSTGRESQL_DROP = ("DROP INDEX IF EXISTS ix_posts_body_trgm",)

# The search also lists users whose username or name contains the query
# (`ILIKE`): without these, PostgreSQL read all 100,000 users of the large
# database for each search (100 ms). SQLite reads its narrower users table
# (migration 0010; the extension comes from 0005).
POSTGRESQL_USER_INDEXES = ("ix_users_username_trgm", "ix_users_name_trgm")
POSTGRESQL_USERS_CREATE = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_users_username_trgm ON users USING gin (username gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_users_name_trgm ON users USING gin (name gin_trgm_ops)",
)
POSTGRESQL_USERS_DROP = tuple(f"DROP INDEX IF EXISTS {name}" for name in POSTGRESQL_USER_INDEXES)

# The characters and the pairs of adjacent characters of the lower-cased text
# once its ASCII is removed: an array a GIN index looks elements up in (`@>`),
# for the words of one or two characters no trigram serves, when they hold no
# ASCII (a Chinese word). Removing the ASCII joins characters that were not
# adjacent, so the index finds a few posts too many, never too few; the
# `LIKE` beside the lookup decides. Two passes of `regexp_replace` split the
# text into pairs, at even and at odd offsets (a lookahead cannot capture in
# PostgreSQL's regular expressions): about 60 µs a post, where a
# `generate_series` of `substr` took 4 ms. `lower` maps one character to one
# (libc's `towlower`), as `ILIKE` folds case.
SHORT_WORD_GRAMS = "short_word_grams"
_GRAMS_FUNCTION = r"""CREATE OR REPLACE FUNCTION short_word_grams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT string_to_array(t, NULL)
      || string_to_array(regexp_replace(t, '(..)', '\1' || chr(1), 'g'), chr(1))
      || string_to_array(regexp_replace(substr(t, 2), '(..)', '\1' || chr(1), 'g'), chr(1))
  FROM regexp_replace(lower(value), '[\x01-\x7f]+', '', 'g') AS t
$$"""
_USER_GRAM_INDEXES = {"ix_users_username_grams": "username", "ix_users_name_grams": "name"}
_POST_GRAM_INDEX = "ix_posts_body_grams"
POSTGRESQL_GRAM_INDEXES = (*_USER_GRAM_INDEXES, _POST_GRAM_INDEX)


def _gram_index(name: str, table: str, column: str) -> str:
    return f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({SHORT_WORD_GRAMS}({column}))"


# The function goes with `users`, which is created before `posts` and dropped after it.
POSTGRESQL_USERS_GRAMS_CREATE = (
    _GRAMS_FUNCTION,
    *(_gram_index(name, "users", column) for name, column in _USER_GRAM_INDEXES.items()),
)
POSTGRESQL_USERS_GRAMS_DROP = (
    *(f"DROP INDEX IF EXISTS {name}" for name in _USER_GRAM_INDEXES),
    f"DROP FUNCTION IF EXISTS {SHORT_WORD_GRAMS}(text)",
)
POSTGRESQL_POSTS_GRAMS_CREATE = (_gram_index(_POST_GRAM_INDEX, "posts", "body"),)
POSTGRESQL_POSTS_GRAMS_DROP = (f"DROP INDEX IF EXISTS {_POST_GRAM_INDEX}",)


def is_search_object(name: str | None) -> bool:
    """Whether a reflected table or index is part of the search index (FTS5 keeps shadow tables)."""
    return name is not None and (
        name in (TABLE, POSTGRESQL_INDEX, *POSTGRESQL_USER_INDEXES, *POSTGRESQL_GRAM_INDEXES)
        or name.startswith(f"{TABLE}_")
    )


def attach(posts: FromClause, users: FromClause) -> None:
    """Create (and drop) the indexes with their tables in `create_all` (and `drop_all`)."""
    for table, dialect, create, drop in (
        (posts, "sqlite", SQLITE_CREATE, SQLITE_DROP),
        (posts, "postgresql", POSTGRESQL_CREATE, POSTGRESQL_DROP),
        (users, "postgresql", POSTGRESQL_USERS_CREATE, POSTGRESQL_USERS_DROP),
        (users, "postgresql", POSTGRESQL_USERS_GRAMS_CREATE, POSTGRESQL_USERS_GRAMS_DROP),
        (posts, "postgresql", POSTGRESQL_POSTS_GRAMS_CREATE, POSTGRESQL_POSTS_GRAMS_DROP),
    ):
        for statement in create:
            event.listen(table, "after_create", DDL(statement).execute_if(dialect=dialect))
        for statement in drop:
            event.listen(table, "before_drop", DDL(statement).execute_if(dialect=dialect))
