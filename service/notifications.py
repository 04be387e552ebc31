"""Notifications: written beside the event they tell of, counted for the navbar, listed, read.

`notify` adds the row to the session of the event's own write transaction,
so the event and its notification commit or roll back together. The navbar's
unread count costs no statement of its own: `unread_count` is a correlated
subquery that `service.identity` folds into the one statement that loads the
signed-in user on every request, served by the (user, read, timestamp) index.
A counter column would cost nothing either, but would have to be kept in step
by every path that deletes a notification, cascades included; the count is
always right.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from .models import Comment, Notification, NotificationKind, Post
from .pagination import Pagination, paginate
from .queries import PostRow


def notify(
    session: AsyncSession,
    user_id: int,
    actor_id: int,
    kind: NotificationKind,
    **about: Any,
) -> None:
    """Add a notification for `user_id` to the current (write) transaction; none for oneself.

    `about` names what it is about: `post_id` and `comment_id`, or `message_id`.
    Rows the event itself created must have been flushed, for their ids.
    """
    if user_id != actor_id:
        session.add(Notification(user_id=user_id, actor_id=actor_id, kind=kind.value, **about))


async def add_comment(session: AsyncSession, comment: Comment, post: Post | PostRow) -> None:
    """Add `comment` on `post` and notify the post's author; inside a write transaction.

    The one way a comment is written, for the page and the API alike.
    """
    session.add(comment)
    await session.flush()
    notify(
        session,
        post.author_id,
        comment.author_id,
        NotificationKind.COMMENT,
        post_id=post.id,
        comment_id=comment.id,
    )


def unread_count(user_id: Any) -> Any:
    """The number of unread notifications of `user_id` (a column or a value), as a subquery."""
    return (
        select(func.count(Notification.id))
        .where(Notification.user_id == user_id, Notification.read.is_(False))
        .scalar_subquery()
    )


async def notifications_of(
    session: AsyncSession, user_id: int, page: int, per_page: int
) -> Pagination[Notification]:
    """A page of the user's notifications, newest first, with who caused each. Two statements."""
    statement = (
        select(Notification)
        .options(joinedload(Notification.actor))
        .where(Notification.user_id == user_id)
        .order_by(Notification.timestamp.desc(), Notification.id.desc())
    )
    return await paginate(session, statement, page, per_page)


async def mark_all_read(session: AsyncSession, user_id: int) -> None:
    """Mark every notification of the user read; loaded rows keep showing what was new."""
    await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read.is_(False))
        .values(read=True)
        .execution_options(synchronize_session=False)
    )


async def mark_messages_read(session: AsyncSession, user_id: int, sender_id: int) -> int:
    """Mark the notifications of messages from `sender_id` read; how many there were."""
    result = await session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.read.is_(False),
            Notification.kind == NotificationKind.MESSAGE.value,
            Notification.actor_id == sender_id,
        )
        .values(read=True)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
