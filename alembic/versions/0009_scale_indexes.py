"""Index posts by (author_id, timestamp, id): a profile's and a timeline's order, index-only

Replaces the (author_id, timestamp) index. With the id in it, PostgreSQL finds
a page of one author's posts, and the newest posts of each followed author in
the Followed tab, from the index alone (its tables do not carry the primary
key inside other indexes, as SQLite's do). Plain CREATE and DROP INDEX, no
batch rebuild of `posts`: on SQLite that would drop the search triggers.

Revision ID: 0009_scale_indexes
Revises: 0008_talk
Create Date: 2026-12-02 07:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_scale_indexes"
down_revision: str | None = "0008_talk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_posts_author_id_timestamp_id", "posts", ["author_id", "timestamp", "id"], unique=False
    )
    op.drop_index("ix_posts_author_id_timestamp", table_name="posts")


def downgrade() -> None:
    op.create_index(
        "ix_posts_author_id_timestamp", "posts", ["author_id", "timestamp"], unique=False
    )
    op.drop_index("ix_posts_author_id_timestamp_id", table_name="posts")
