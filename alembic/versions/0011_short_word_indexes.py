"""Indexes for search words of one or two characters, on PostgreSQL: most Chinese words

A trigram index cannot look up `天气`: without another index PostgreSQL read
all the posts of a million-post database to find it (575 ms, and more when
nothing matched). This adds `short_word_grams()` and GIN indexes of its
characters and character pairs on `posts.body`, `users.username` and
`users.name` (see service.search_index). SQLite is left as it is.

Revision ID: 0011_short_word_indexes
Revises: 0010_user_search_indexes
Create Date: 2026-12-03 07:30:00
"""

from collections.abc import Sequence

from alembic import op
from service import search_index

revision: str = "0011_short_word_indexes"
down_revision: str | None = "0010_user_search_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _run(statements: Sequence[str]) -> None:
    if op.get_context().dialect.name == "postgresql":
        for statement in statements:
            op.execute(statement)


def upgrade() -> None:
    _run(search_index.POSTGRESQL_USERS_GRAMS_CREATE + search_index.POSTGRESQL_POSTS_GRAMS_CREATE)


def downgrade() -> None:
    _run(search_index.POSTGRESQL_POSTS_GRAMS_DROP + search_index.POSTGRESQL_USERS_GRAMS_DROP)
