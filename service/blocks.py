"""Blocking: who has blocked whom, and the rules every path that reaches a user checks.

A user `blocked` by `blocker` may not follow them, write to them or comment
on their posts; the pages and the API ask `is_blocked` before those writes
and answer 403 with `BLOCKED`. Blocking ends follows both ways. The blocker
no longer sees the blocked user's posts in Followed (`not_blocked_by`).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .i18n import lazy_gettext as _l
from .models import Block, Follow, Post

BLOCKED = _l("This user has blocked you.")


async def is_blocked(session: AsyncSession, blocker_id: int, blocked_id: int) -> bool:
    """Whether `blocker_id` has blocked `blocked_id`. One indexed lookup."""
    return bool(
        await session.scalar(
            select(exists().where(Block.blocker_id == blocker_id, Block.blocked_id == blocked_id))
        )
    )


async def block(session: AsyncSession, blocker_id: int, blocked_id: int) -> None:
    """Block, and end the follows between the two; inside a write transaction. Idempotent."""
    if not await is_blocked(session, blocker_id, blocked_id):
        try:
            async with session.begin_nested():
                session.add(Block(blocker_id=blocker_id, blocked_id=blocked_id))
        except IntegrityError:
            pass  # a parallel request blocked first: the block exists, as wanted
    await session.execute(
        delete(Follow).where(
            or_(
                (Follow.follower_id == blocker_id) & (Follow.followed_id == blocked_id),
                (Follow.follower_id == blocked_id) & (Follow.followed_id == blocker_id),
            )
        )
    )


async def unblock(session: AsyncSession, blocker_id: int, blocked_id: int) -> bool:
    """Lift the block; whether there was one. Inside a write transaction."""
    result = await session.execute(
        delete(Block).where(Block.blocker_id == blocker_id, Block.blocked_id == blocked_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def not_blocked_by(user_id: int | ColumnElement[int]) -> ColumnElement[bool]:
    """Posts whose author `user_id` has not blocked: the condition Followed adds."""
    blocked = select(Block.blocked_id).where(Block.blocker_id == user_id)
    return Post.author_id.not_in(blocked)
