"""Rows for the blog tests: posts, comments, follows, roles, messages and blocks,
written straight to the database."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.markdown import render_comment, render_post
from service.models import Block, Comment, Follow, Message, Permission, Post, Role, User, utcnow


async def add_post(
    db: AsyncSession,
    author: User,
    body: str = "A post",
    *,
    age: int = 0,
    at: datetime | None = None,
) -> Post:
    """A post by `author`, written `age` seconds ago, or `at` a fixed time a test can assert."""
    post = Post(
        body=body,
        body_html=render_post(body),
        author_id=author.id,
        timestamp=at or utcnow() - timedelta(seconds=age),
    )
    db.add(post)
    await db.commit()
    return post


async def add_posts(
    db: AsyncSession, author: User, count: int, *, newest: datetime | None = None
) -> list[Post]:
    """`count` posts by `author`, a second apart, "post 0" the newest (written at `newest`)."""
    newest = newest or utcnow() - timedelta(seconds=1)
    posts = [
        Post(
            body=f"post {n}",
            body_html=render_post(f"post {n}"),
            author_id=author.id,
            timestamp=newest - timedelta(seconds=n),
        )
        for n in range(count)
    ]
    db.add_all(posts)
    await db.commit()
    return posts


async def add_comment(
    db: AsyncSession,
    post: Post,
    author: User,
    body: str = "A comment",
    *,
    age: int = 0,
    disabled: bool = False,
) -> Comment:
    comment = Comment(
        body=body,
        body_html=render_comment(body),
        post_id=post.id,
        author_id=author.id,
        disabled=disabled,
        timestamp=utcnow() - timedelta(seconds=age),
    )
    db.add(comment)
    await db.commit()
    return comment


async def add_follow(db: AsyncSession, follower: User, followed: User) -> None:
    db.add(Follow(follower_id=follower.id, followed_id=followed.id))
    await db.commit()


async def add_role(db: AsyncSession, name: str, permissions: Permission | int = 0) -> Role:
    """A role beyond the standard three, e.g. one that may read but not write."""
    role = Role(name=name, permissions=int(permissions), default=False)
    db.add(role)
    await db.commit()
    return role


async def add_message(
    db: AsyncSession, sender: User, recipient: User, body: str = "A message", *, age: int = 0
) -> Message:
    message = Message(
        sender_id=sender.id,
        recipient_id=recipient.id,
        body=body,
        body_html=render_comment(body),
        timestamp=utcnow() - timedelta(seconds=age),
    )
    db.add(message)
    await db.commit()
    return message


async def add_block(db: AsyncSession, blocker: User, blocked: User) -> None:
    db.add(Block(blocker_id=blocker.id, blocked_id=blocked.id))
    await db.commit()
