"""The queries behind the blog pages, each written once with the eager loads its page needs.

Every page runs a fixed number of SQL statements whatever the number of rows
it shows: authors are joined into the page query, comment counts for a page of
posts come from one grouped query, and a profile's counts and follow state
come from scalar subqueries of the single statement that loads the user.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from ..models import Comment, Follow, Post, Role, User
from ..pagination import Pagination, paginate


@dataclass(frozen=True)
class PostPage:
    """A page of posts with their authors loaded, and how many comments each has."""

    pagination: Pagination[Post]
    comment_counts: dict[int, int]


@dataclass(frozen=True)
class Profile:
    """A user as their profile page shows them."""

    user: User
    post_count: int
    comment_count: int
    follower_count: int
    following_count: int
    followed_by_viewer: bool
    follows_viewer: bool


def _count(column: Any, *conditions: ColumnElement[bool]) -> Any:
    return select(func.count(column)).where(*conditions).scalar_subquery()


async def comment_counts(
    session: AsyncSession, post_ids: Iterable[int], *conditions: ColumnElement[bool]
) -> dict[int, int]:
    """Comments per post (of those matching `conditions`) for a page of posts, in one query."""
    ids = list(post_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Comment.post_id, func.count(Comment.id))
        .where(Comment.post_id.in_(ids), *conditions)
        .group_by(Comment.post_id)
    )
    counts: dict[int, int] = dict.fromkeys(ids, 0)
    counts.update({post_id: count for post_id, count in rows})
    return counts


async def _post_page(
    session: AsyncSession, condition: ColumnElement[bool] | None, page: int, per_page: int
) -> PostPage:
    statement = select(Post).options(joinedload(Post.author))
    if condition is not None:
        statement = statement.where(condition)
    statement = statement.order_by(Post.timestamp.desc(), Post.id.desc())
    pagination: Pagination[Post] = await paginate(session, statement, page, per_page)
    counts = await comment_counts(session, (post.id for post in pagination.items))
    return PostPage(pagination, counts)


async def all_posts(session: AsyncSession, page: int, per_page: int) -> PostPage:
    return await _post_page(session, None, page, per_page)


async def followed_posts(session: AsyncSession, user_id: int, page: int, per_page: int) -> PostPage:
    return await _post_page(session, Post.in_timeline_of(user_id), page, per_page)


async def posts_by(session: AsyncSession, user_id: int, page: int, per_page: int) -> PostPage:
    return await _post_page(session, Post.author_id == user_id, page, per_page)


async def profile(session: AsyncSession, username: str, viewer_id: int | None) -> Profile | None:
    """The user named `username` with every count their profile shows, in one statement."""
    if viewer_id is None:
        followed_by_viewer: Any = false()
        follows_viewer: Any = false()
    else:
        followed_by_viewer = exists().where(
            Follow.follower_id == viewer_id, Follow.followed_id == User.id
        )
        follows_viewer = exists().where(
            Follow.follower_id == User.id, Follow.followed_id == viewer_id
        )
    row = (
        await session.execute(
            select(
                User,
                _count(Post.id, Post.author_id == User.id),
                _count(Comment.id, Comment.author_id == User.id),
                _count(Follow.follower_id, Follow.followed_id == User.id),
                _count(Follow.followed_id, Follow.follower_id == User.id),
                followed_by_viewer,
                follows_viewer,
            ).where(User.username == username)
        )
    ).first()
    if row is None:
        return None
    user, posts, comments, followers, following, followed, follows = row
    return Profile(user, posts, comments, followers, following, bool(followed), bool(follows))


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


async def post_with_author(session: AsyncSession, post_id: int) -> Post | None:
    return await session.scalar(
        select(Post).options(joinedload(Post.author)).where(Post.id == post_id)
    )


def _comments() -> Select[Any]:
    return select(Comment).options(joinedload(Comment.author))


async def comments_of(
    session: AsyncSession, post_id: int, page: int, per_page: int
) -> Pagination[Comment]:
    """A post's comments, oldest first, as a conversation reads."""
    statement = (
        _comments()
        .where(Comment.post_id == post_id)
        .order_by(Comment.timestamp.asc(), Comment.id.asc())
    )
    return await paginate(session, statement, page, per_page)


async def all_comments(session: AsyncSession, page: int, per_page: int) -> Pagination[Comment]:
    """Every comment, newest first, for moderators."""
    statement = _comments().order_by(Comment.timestamp.desc(), Comment.id.desc())
    return await paginate(session, statement, page, per_page)


async def follow_list(
    session: AsyncSession, user_id: int, *, followers: bool, page: int, per_page: int
) -> Pagination[Any]:
    """Rows of (user, since) for who follows `user_id` (`followers`) or whom it follows.

    Most recent first; the listed users come from the page query itself.
    """
    listed, anchor = (
        (Follow.follower_id, Follow.followed_id)
        if followers
        else (Follow.followed_id, Follow.follower_id)
    )
    statement = (
        select(User, Follow.timestamp)
        .join(Follow, listed == User.id)
        .where(anchor == user_id)
        .order_by(Follow.timestamp.desc(), User.id)
    )
    return await paginate(session, statement, page, per_page, scalars=False)


async def is_following(session: AsyncSession, follower_id: int, followed_id: int) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(Follow.follower_id == follower_id, Follow.followed_id == followed_id)
            )
        )
    )


async def unfollow(session: AsyncSession, follower_id: int, followed_id: int) -> bool:
    """Remove the follow; whether there was one to remove."""
    result = await session.execute(
        delete(Follow).where(Follow.follower_id == follower_id, Follow.followed_id == followed_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_post(session: AsyncSession, post_id: int) -> None:
    """Delete a post and its comments, whether or not the database enforces the cascade."""
    await session.execute(delete(Comment).where(Comment.post_id == post_id))
    await session.execute(delete(Post).where(Post.id == post_id))


async def roles(session: AsyncSession) -> list[Role]:
    return list((await session.scalars(select(Role).order_by(Role.name))).all())
