"""Insert the standard roles, so that `alembic upgrade head` alone gives a working site

Without roles, the first users would register with no permissions at all.
`flasky deploy` keeps updating the roles after this (Role.insert_roles); this
revision only adds the ones that are missing, and so never duplicates or
overwrites roles that an earlier `flasky deploy` created.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 07:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The permissions as they were when this revision was written: FOLLOW=1,
# COMMENT=2, WRITE=4, MODERATE=8, ADMIN=16. A migration keeps its own copy so
# that later changes to the models cannot change what it did.
ROLES = [
    {"name": "User", "default": True, "permissions": 7},
    {"name": "Moderator", "default": False, "permissions": 15},
    {"name": "Administrator", "default": False, "permissions": 31},
]

roles = sa.table(
    "roles",
    sa.column("name", sa.String),
    sa.column("default", sa.Boolean),
    sa.column("permissions", sa.Integer),
)


def upgrade() -> None:
    existing = set(op.get_bind().scalars(sa.select(roles.c.name)))
    missing = [role for role in ROLES if role["name"] not in existing]
    if missing:
        op.bulk_insert(roles, missing)


def downgrade() -> None:
    # Roles that users still hold stay (deleting them would break those
    # accounts); unused standard roles go, as before this revision.
    users = sa.table("users", sa.column("role_id", sa.Integer))
    roles_id = sa.table("roles", sa.column("id", sa.Integer), sa.column("name", sa.String))
    in_use = sa.select(users.c.role_id).where(users.c.role_id.is_not(None))
    op.execute(
        roles_id.delete().where(
            roles_id.c.name.in_([role["name"] for role in ROLES]),
            roles_id.c.id.not_in(in_use),
        )
    )
