"""Index posts and comments by (timestamp, id), the order every list uses

Replaces the single-column timestamp indexes: the composite index serves
everything they did, and lets PostgreSQL find a deep page's ids by an
index-only scan instead of sorting the whole table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 07:25:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("posts", "comments"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_index(f"ix_{table}_timestamp_id", ["timestamp", "id"], unique=False)
            batch_op.drop_index(f"ix_{table}_timestamp")


def downgrade() -> None:
    for table in ("posts", "comments"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_index(f"ix_{table}_timestamp", ["timestamp"], unique=False)
            batch_op.drop_index(f"ix_{table}_timestamp_id")
