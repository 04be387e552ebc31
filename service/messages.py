"""Private messages: the inbox, one conversation, and marking a conversation read.

A conversation is every message between two users, in either direction; it
is only ever looked up by the signed-in user and the other person's name, so
no URL names a conversation a third user could open. Each list runs a fixed
number of statements (`paginate`'s count and page), the other person's row
joined into the page query.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from .models import Message, User
from .pagination import Pagination, paginate


def _between(user_id: int, other_id: int) -> Any:
    return or_(
        and_(Message.sender_id == user_id, Message.recipient_id == other_id),
        and_(Message.sender_id == other_id, Message.recipient_id == user_id),
    )


async def conversation(
    session: AsyncSession, user_id: int, other_id: int, page: int, per_page: int
) -> Pagination[Message]:
    """The messages between the two, oldest first as a conversation reads, with their senders."""
    statement = (
        select(Message)
        .options(joinedload(Message.sender))
        .where(_between(user_id, other_id))
        .order_by(Message.timestamp.asc(), Message.id.asc())
    )
    return await paginate(session, statement, page, per_page)


async def inbox(session: AsyncSession, user_id: int, page: int, per_page: int) -> Pagination[Any]:
    """Rows of (other user, latest message time, unread count): the user's conversations.

    The most recently active first. The messages sent and those received are
    read by their own index each, then grouped by the other person.
    """
    sent = select(
        Message.recipient_id.label("other_id"), Message.timestamp, literal(0).label("unread")
    ).where(Message.sender_id == user_id)
    received = select(
        Message.sender_id.label("other_id"),
        Message.timestamp,
        case((Message.read.is_(False), 1), else_=0).label("unread"),
    ).where(Message.recipient_id == user_id)
    both = union_all(sent, received).subquery()
    conversations = (
        select(
            both.c.other_id,
            func.max(both.c.timestamp).label("latest"),
            func.sum(both.c.unread).label("unread"),
        )
        .group_by(both.c.other_id)
        .subquery()
    )
    statement = (
        select(User, conversations.c.latest, conversations.c.unread)
        .join(conversations, conversations.c.other_id == User.id)
        .order_by(conversations.c.latest.desc(), User.id)
    )
    return await paginate(session, statement, page, per_page, scalars=False)


async def mark_read(session: AsyncSession, user_id: int, sender_id: int) -> None:
    """Mark what `sender_id` sent to `user_id` read; inside a write transaction."""
    await session.execute(
        update(Message)
        .where(
            Message.recipient_id == user_id,
            Message.sender_id == sender_id,
            Message.read.is_(False),
        )
        .values(read=True)
        .execution_options(synchronize_session=False)
    )


async def has_unread_from(session: AsyncSession, user_id: int, sender_id: int) -> bool:
    """Whether `sender_id` sent `user_id` anything unread (so reading needs a write)."""
    found = await session.scalar(
        select(Message.id)
        .where(
            Message.recipient_id == user_id,
            Message.sender_id == sender_id,
            Message.read.is_(False),
        )
        .limit(1)
    )
    return found is not None
