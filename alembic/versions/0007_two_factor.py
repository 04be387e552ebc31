"""Two-factor sign-in: the encrypted TOTP secret and last used step on users, recovery codes

Revision ID: 0007_two_factor
Revises: 0006
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007_two_factor"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Should SQLite rebuild the users table for a batch, it keeps AUTOINCREMENT (0006).
_USERS = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("users", table_kwargs=_USERS) as batch:
        batch.add_column(
            sa.Column("two_factor_enabled", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("two_factor_secret", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("two_factor_last_step", sa.Integer(), nullable=True))
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    op.create_index(
        "ix_recovery_codes_user_id_code_hash", "recovery_codes", ["user_id", "code_hash"]
    )


def downgrade() -> None:
    op.drop_index("ix_recovery_codes_user_id_code_hash", table_name="recovery_codes")
    op.drop_table("recovery_codes")
    with op.batch_alter_table("users", table_kwargs=_USERS) as batch:
        batch.drop_column("two_factor_last_step")
        batch.drop_column("two_factor_secret")
        batch.drop_column("two_factor_enabled")
