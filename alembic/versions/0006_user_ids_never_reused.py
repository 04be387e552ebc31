"""users.id is never reused on SQLite (AUTOINCREMENT), so a deleted account's cookies die with it

Without AUTOINCREMENT, SQLite gives a new row the largest id in the table plus
one: after the newest account is deleted, the next registration gets its id,
and a login cookie of the deleted account ("<id>:<session generation>", both
then matching) would sign in as the newcomer. With AUTOINCREMENT SQLite
remembers the largest id ever used (`sqlite_sequence`). PostgreSQL sequences
never hand out a number twice: nothing to do there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 04:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild_users(autoincrement: bool) -> None:
    # SQLite cannot add AUTOINCREMENT to a table: the batch copies it into a
    # new one (the copy's explicit ids seed sqlite_sequence with the largest).
    if op.get_context().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "users", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    _rebuild_users(True)


def downgrade() -> None:
    _rebuild_users(False)
