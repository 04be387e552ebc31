"""Deleting an account: the user row, and with it everything of theirs, in one transaction.

What goes with the user is the database's rule, not this module's: every
foreign key to `users.id` and `posts.id` is `ON DELETE CASCADE` (see
docs/architecture.md), so deleting the one row takes their posts (and the
comments anyone wrote on them), their comments, their follows both ways and
their API tokens, and will take any later table that references users the
same way. Deleting children by hand here would be a second rule that a new
table could miss.

Sessions need no step of their own: a login cookie names a user id and
session generation, and a cookie whose user no longer exists is treated as
signed out on its next request (`service.identity`).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import write_transaction
from ..models import Permission, Role, User


class LastAdministrator(Exception):
    """The account is the only one left that can administer the site."""


async def _administrator_ids(session: AsyncSession, *, lock: bool = False) -> list[int]:
    statement = (
        select(User.id)
        .join(Role, Role.id == User.role_id)
        .where(Role.permissions.op("&")(int(Permission.ADMIN)) != 0)
    )
    if lock:
        # PostgreSQL: two administrators deleting themselves at once queue
        # here, and the second then counts without the first (SQLite needs no
        # lock: its write transactions run one at a time).
        statement = statement.with_for_update(of=User)
    return list((await session.scalars(statement)).all())


async def is_last_administrator(session: AsyncSession, user: User, *, lock: bool = False) -> bool:
    """Whether `user` (role loaded) is the only user with the ADMIN permission."""
    if not user.is_administrator():
        return False
    return await _administrator_ids(session, lock=lock) == [user.id]


async def delete_account(session: AsyncSession, user: User) -> None:
    """Delete `user` and everything of theirs, committed; LastAdministrator if it may not go.

    The last-administrator check runs inside the same write transaction as
    the delete, so no concurrent deletion can slip between them.
    """
    async with write_transaction(session):
        if await is_last_administrator(session, user, lock=True):
            raise LastAdministrator()
        await session.execute(delete(User).where(User.id == user.id))
