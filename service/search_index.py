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


def is_search_object(name: str | None) -> bool:
    """Whether a reflected table or index is part of the search index (FTS5 keeps shadow tables)."""
    return name is not None and (
        name in (TABLE, POSTGRESQL_INDEX, *POSTGRESQL_USER_INDEXES) or name.startswith(f"{TABLE}_")
    )


def attach(posts: FromClause, users: FromClause) -> None:
    """Create (and drop) the indexes with their tables in `create_all` (and `drop_all`)."""
    for table, dialect, create, drop in (
        (posts, "sqlite", SQLITE_CREATE, SQLITE_DROP),
        (posts, "postgresql", POSTGRESQL_CREATE, POSTGRESQL_DROP),
        (users, "postgresql", POSTGRESQL_USERS_CREATE, POSTGRESQL_USERS_DROP),
    ):
        for statement in create:
            event.listen(table, "after_create", DDL(statement).execute_if(dialect=dialect))
        for statement in drop:
            event.listen(table, "before_drop", DDL(statement).execute_if(dialect=dialect))
