"""Trigram indexes of users' usernames and names, on PostgreSQL: the users a search lists

A search lists up to five users whose username or name contains the query
(`ILIKE '%...%'`). Without an index PostgreSQL read every user for it: 100 ms
a search with 100,000 users. SQLite is left as it is: its scan of the users
table is narrow, and FTS5 would need a table and triggers of its own.

Revision ID: 0010_user_search_indexes
Revises: 0009_scale_indexes
Create Date: 2026-12-02 11:40:00
"""

from collections.abc import Sequence

from alembic import op
from service import search_index

revision: str = "0010_user_search_indexes"
down_revision: str | None = "0009_scale_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _run(statements: Sequence[str]) -> None:
    if op.get_context().dialect.name == "postgresql":
        for statement in statements:
            op.execute(statement)


def upgrade() -> None:
    _run(search_index.POSTGRESQL_USERS_CREATE)


def downgrade() -> None:
    _run(search_index.POSTGRESQL_USERS_DROP)
