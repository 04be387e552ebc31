"""Full-text search of posts: an FTS5 trigram index on SQLite, pg_trgm on PostgreSQL

Creates the index and its triggers exactly as `service.search_index` defines
them for the models, then fills it from the posts that exist. On SQLite the
index is a virtual table with shadow tables, on PostgreSQL a GIN index with
an operator class: neither is something autogenerate can describe, so
alembic/env.py leaves them out of `alembic check`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 04:30:00
"""

from collections.abc import Sequence

from alembic import op
from service import search_index

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _run(statements: Sequence[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _run((*search_index.SQLITE_CREATE, search_index.SQLITE_REBUILD))
    else:
        _run(search_index.POSTGRESQL_CREATE)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _run(search_index.SQLITE_DROP)
    else:
        _run(search_index.POSTGRESQL_DROP)
