"""The queries behind the pages, the API and the command line, each written once.

Views read their input, call a query from here and answer; none builds a
`select()` of its own, so a page and the API endpoint that shows the same rows
run the same SQL. Every list runs a fixed number of statements whatever the
number of rows it shows: authors are joined into the page query, comment
counts for a page of posts come from one grouped query, and a profile's counts
and follow state come from scalar subqueries of the single statement that
loads the user.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    UnaryExpression,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from . import search
from .blocks import not_blocked_by
from .db import read_rows
from .models import Base, Block, Comment, Follow, Permission, Post, Rights, Role, User
from .pagination import AnySelect, Pagination, Prepared, paginate, prepare
from .search import USERS_SHOWN, Query, matches_counted, posts_matching, users_matching

M = TypeVar("M", bound=Base)


# The lists of posts and comments are read as plain rows into the small named
# tuples below, not as ORM entities: building 20 posts and their authors
# through the ORM cost about as much CPU as rendering them. Tuples rather
# than frozen dataclasses: as immutable and hashable (service.fragments keys
# its caches on them), and built and hashed in C: a frozen dataclass's
# `__init__` sets each field through `object.__setattr__` (1.6 µs a post
# against 0.8), and its `__hash__` is Python.


class Author(NamedTuple):
    """A post's or comment's author as a list shows them (name, avatar)."""

    id: int
    username: str
    email: str
    avatar_hash: str | None


class PostRow(NamedTuple):
    """A post of a list: the attributes of `Post` that templates and the API read."""

    id: int
    body: str
    body_html: str
    timestamp: datetime
    author_id: int
    # None where the list was read without authors (the API names them by id).
    author: Author | None


class CommentRow(NamedTuple):
    """A comment of a list: the attributes of `Comment` that templates and the API read."""

    id: int
    body: str
    body_html: str
    timestamp: datetime
    disabled: bool
    author_id: int
    post_id: int
    author: Author | None


_AUTHOR_COLUMNS = (User.id, User.username, User.email, User.avatar_hash)
_POST_COLUMNS = (Post.id, Post.body, Post.body_html, Post.timestamp, Post.author_id)
_COMMENT_COLUMNS = (
    Comment.id,
    Comment.body,
    Comment.body_html,
    Comment.timestamp,
    Comment.disabled,
    Comment.author_id,
    Comment.post_id,
)


def _selecting(
    columns: Sequence[Any], author_id: Any, authors: bool
) -> Callable[[AnySelect], AnySelect]:
    """For `paginate`'s `page_rows`: the page selecting `columns`, then the author's if `authors`.

    The author is joined on `author_id`.
    """

    def page_rows(narrowed: AnySelect) -> AnySelect:
        if not authors:
            return narrowed.with_only_columns(*columns)
        return narrowed.with_only_columns(*columns, *_AUTHOR_COLUMNS).join_from(
            columns[0].class_, User, author_id == User.id
        )

    return page_rows


def _author(values: Sequence[Any]) -> Author | None:
    return Author(*values) if values else None


@dataclass(frozen=True)
class PostPage:
    """A page of posts, and how many comments each has."""

    pagination: Pagination[PostRow]
    comment_counts: dict[int, int]


@dataclass(frozen=True, slots=True)
class ProfileUser:
    """The user of a profile: the columns of `User` that its page shows."""

    id: int
    username: str
    email: str
    avatar_hash: str | None
    name: str | None
    location: str | None
    about_me: str | None
    member_since: datetime
    last_seen: datetime


_PROFILE_USER_COLUMNS = tuple(getattr(User, field.name) for field in fields(ProfileUser))


@dataclass(frozen=True)
class Profile:
    """A user as their profile page shows them."""

    user: ProfileUser
    post_count: int
    comment_count: int
    follower_count: int
    following_count: int
    followed_by_viewer: bool
    follows_viewer: bool
    # Whether the viewer has blocked them (the page then offers Unblock).
    blocked_by_viewer: bool


def newest_first(model: type[Post] | type[Comment]) -> tuple[UnaryExpression[Any], ...]:
    """The order of every list of posts and of the moderators' comments.

    The id breaks ties between equal timestamps, so a row never appears on two
    pages; the `(timestamp, id)` indexes serve this order.
    """
    return model.timestamp.desc(), model.id.desc()


def oldest_first(model: type[Comment]) -> tuple[UnaryExpression[Any], ...]:
    """The order of a post's comments: as a conversation reads."""
    return model.timestamp.asc(), model.id.asc()


# Built once, so that the lists counting comments with them are prepared once.
_EVERY_COMMENT = true()
_ENABLED_COMMENT = Comment.disabled.is_(False)


def comments_visible_to(user: Rights) -> ColumnElement[bool]:
    """Which comments `user` may read in the API: moderators all, everyone else the enabled ones."""
    return _EVERY_COMMENT if user.can(Permission.MODERATE) else _ENABLED_COMMENT


async def by_id(
    session: AsyncSession, model: type[M], id: int, *criteria: ColumnElement[bool]
) -> M | None:
    """The row of `model` with this id, if it also matches `criteria` (e.g. visibility)."""
    return await session.scalar(select(model).filter_by(id=id).where(*criteria))


def _count(table: Any, *conditions: ColumnElement[bool]) -> Any:
    # count(*), not count(column): PostgreSQL can then count in an index alone
    # (19,804 posts of one author: 65-98 ms visiting every row, a few ms so).
    return select(func.count()).select_from(table).where(*conditions).scalar_subquery()


def _counted_post_row(row: Row[*tuple[Any, ...]]) -> tuple[PostRow, int]:
    """A row of `_post_columns` (then the author's, when joined): the post and its comment count."""
    id, body, body_html, timestamp, author_id, comment_count, *author = row
    return PostRow(id, body, body_html, timestamp, author_id, _author(author)), comment_count


def _post_columns(counted: Sequence[ColumnElement[bool]]) -> tuple[Any, ...]:
    # The comment count rides in the row as a correlated subquery: one
    # statement fewer than counting the page's posts in a query of its own.
    return (*_POST_COLUMNS, _count(Comment, Comment.post_id == Post.id, *counted))


def _posts_where(condition: ColumnElement[bool] | None) -> AnySelect:
    statement = select(Post)
    if condition is not None:
        statement = statement.where(condition)
    return statement.order_by(*newest_first(Post))


def _page_rows(
    counted: Sequence[ColumnElement[bool]], authors: bool
) -> Callable[[AnySelect], AnySelect]:
    return _selecting(_post_columns(counted), Post.author_id, authors)


# The lists whose shape never changes, their values as bound parameters.
_READER, _AUTHOR = bindparam("reader_id", type_=Integer), bindparam("author_id", type_=Integer)
_POST_ID = bindparam("post_id", type_=Integer)
_POST_LISTS: dict[str, ColumnElement[bool] | None] = {
    "all posts": None,
    "followed": and_(Post.in_timeline_of(_READER), not_blocked_by(_READER)),
    "posts by": Post.author_id == _AUTHOR,
}


@functools.lru_cache(maxsize=32)
def _prepared_posts(kind: str, counted: tuple[ColumnElement[bool], ...], authors: bool) -> Prepared:
    """The statements of a list of `_POST_LISTS`, built once per shape.

    `counted` is a key: `comments_visible_to` gives one of two conditions
    built once, so there are a handful of shapes in all.
    """
    return prepare(_posts_where(_POST_LISTS[kind]), page_rows=_page_rows(counted, authors))


async def _post_page(
    session: AsyncSession, prepared: Prepared, page: int, per_page: int, **counting: Any
) -> PostPage:
    rows = await paginate(session, prepared, page, per_page, **counting)
    counted_posts = [_counted_post_row(row) for row in rows.items]
    counts = {post.id: count for post, count in counted_posts}
    return PostPage(replace(rows, items=[post for post, _count in counted_posts]), counts)


# The three lists of posts. `counted` narrows which comments count (the API
# counts only those its caller may read); `authors=False` skips loading the
# authors, which the API's JSON names by id only. Two statements each; the
# index and a profile, once they count past their bound, one for the minute
# after (`count_key`: "more than" stays true as posts are written).


async def all_posts(
    session: AsyncSession,
    page: int,
    per_page: int,
    *,
    counted: Sequence[ColumnElement[bool]] = (),
    authors: bool = True,
) -> PostPage:
    """Every post, newest first."""
    prepared = _prepared_posts("all posts", tuple(counted), authors)
    return await _post_page(session, prepared, page, per_page, count_key=("all posts",))


async def followed_posts(
    session: AsyncSession,
    user_id: int,
    page: int,
    per_page: int,
    *,
    counted: Sequence[ColumnElement[bool]] = (),
    authors: bool = True,
) -> PostPage:
    """The timeline of `user_id`: posts of the people they follow, and their own.

    Without the posts of people `user_id` has blocked (`service.blocks`).
    """
    prepared = _prepared_posts("followed", tuple(counted), authors)
    return await _post_page(session, prepared, page, per_page, params={"reader_id": user_id})


async def posts_by(
    session: AsyncSession,
    user_id: int,
    page: int,
    per_page: int,
    *,
    counted: Sequence[ColumnElement[bool]] = (),
    authors: bool = True,
    total: int | None = None,
) -> PostPage:
    """The posts `user_id` wrote, newest first; `total`: how many, if known (`paginate`)."""
    prepared = _prepared_posts("posts by", tuple(counted), authors)
    counting = {"count_key": ("posts by", user_id), "params": {"author_id": user_id}}
    return await _post_page(session, prepared, page, per_page, total=total, **counting)


async def search_posts(
    session: AsyncSession,
    query: Query,
    page: int,
    per_page: int,
    *,
    counted: Sequence[ColumnElement[bool]] = (),
    authors: bool = True,
) -> PostPage:
    """The posts containing every word of `query`, newest first (see `service.search`).

    Counted like every list, but exactly only up to `EXACT_MATCHES` (past
    them the page says "more than"), on SQLite in the search index alone when it can answer
    (`matches_counted`): a word most posts contain is not counted to the end.
    A word too short for the trigram index makes the count read every post,
    so a first page that holds every match is not counted at all. A count
    that reached its bound is remembered a while (`count_key`): the next
    pages, and the same search again, skip it.
    """
    dialect = _dialect(session)
    # Built for each search: its shape follows its words.
    prepared = prepare(
        _posts_where(posts_matching(query, dialect)),
        count_of=matches_counted(query, dialect),
        page_rows=_page_rows(counted, authors),
    )
    return await _post_page(
        session,
        prepared,
        page,
        per_page,
        rows_first=not query.indexed,
        count_key=("search", *sorted(query.words)),
        exact_up_to=search.EXACT_MATCHES,
    )


async def search_users(session: AsyncSession, query: Query) -> list[User]:
    """The first few users, by username, whose username or name contains the query."""
    statement = (
        select(User)
        .where(users_matching(query, _dialect(session)))
        .order_by(User.username)
        .limit(USERS_SHOWN)
    )
    return list((await session.scalars(statement)).all())


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def newest_posts(
    session: AsyncSession, limit: int, author_id: int | None = None
) -> list[Post]:
    """The newest `limit` posts (of one author), with their authors: a feed. One statement."""
    statement = select(Post).options(joinedload(Post.author)).order_by(*newest_first(Post))
    if author_id is not None:
        statement = statement.where(Post.author_id == author_id)
    return list((await session.scalars(statement.limit(limit))).all())


_VIEWER = bindparam("viewer_id", type_=Integer)
# What a profile says of its viewer: followed by them, follows them, blocked by them.
_VIEWER_FACTS = (
    exists().where(Follow.follower_id == _VIEWER, Follow.followed_id == User.id),
    exists().where(Follow.follower_id == User.id, Follow.followed_id == _VIEWER),
    exists().where(Block.blocker_id == _VIEWER, Block.blocked_id == User.id),
)


@functools.cache
def _profile_statement(viewer: bool) -> AnySelect:
    """`profile`'s statement, for a viewer (their follows and block) or nobody; built once."""
    facts = _VIEWER_FACTS if viewer else (false(),) * len(_VIEWER_FACTS)
    return select(
        *_PROFILE_USER_COLUMNS,
        _count(Post, Post.author_id == User.id),
        _count(Comment, Comment.author_id == User.id),
        _count(Follow, Follow.followed_id == User.id),
        _count(Follow, Follow.follower_id == User.id),
        *facts,
    ).where(User.username == bindparam("username"))


async def profile(session: AsyncSession, username: str, viewer_id: int | None) -> Profile | None:
    """The user named `username` with every count their profile shows, in one statement.

    Plain columns rather than a `User`: the ORM's loading of one object
    cost about as much as the statement (~0.35 million instructions).
    """
    statement = _profile_statement(viewer_id is not None)
    values = {"username": username, "viewer_id": viewer_id}
    row = (await read_rows(session, statement, values)).first()
    if row is None:
        return None
    shown = len(_PROFILE_USER_COLUMNS)
    posts, comments, followers, following, *viewer_facts = row[shown:]
    followed, follows, blocked = (bool(fact) for fact in viewer_facts)
    user = ProfileUser(*row[:shown])
    return Profile(user, posts, comments, followers, following, followed, follows, blocked)


async def post_count(session: AsyncSession, user_id: int) -> int:
    """How many posts `user_id` wrote."""
    count = await session.scalar(
        select(func.count()).select_from(Post).where(Post.author_id == user_id)
    )
    return count or 0


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


@functools.lru_cache(maxsize=8)
def _counted_post_statement(counted: tuple[ColumnElement[bool], ...]) -> AnySelect:
    """`counted_post`'s statement, built once per `counted` (as `_prepared_posts`)."""
    return select(*_post_columns(counted)).where(Post.id == _POST_ID)


async def counted_post(
    session: AsyncSession, post_id: int, counted: Sequence[ColumnElement[bool]] = ()
) -> tuple[PostRow, int] | None:
    """A post (without its author) and how many of its comments match `counted`: one statement."""
    statement = _counted_post_statement(tuple(counted))
    row = (await read_rows(session, statement, {"post_id": post_id})).first()
    return None if row is None else _counted_post_row(row)


# Built once, as the prepared lists are.
_POST_WITH_AUTHOR = (
    select(*_post_columns(()), *_AUTHOR_COLUMNS)
    .join_from(Post, User, Post.author_id == User.id)
    .where(Post.id == _POST_ID)
)


async def post_with_author(session: AsyncSession, post_id: int) -> tuple[PostRow, int] | None:
    """The post `post_id` with its author, as the lists show it, and its number of comments.

    None if there is none. The count rides in the same statement, so the
    post's page of comments need not count them again (`comments_of(total=)`).
    """
    row = (await read_rows(session, _POST_WITH_AUTHOR, {"post_id": post_id})).first()
    return None if row is None else _counted_post_row(row)


def _comment_rows(authors: bool) -> Callable[[AnySelect], AnySelect]:
    return _selecting(_COMMENT_COLUMNS, Comment.author_id, authors)


async def _comment_page(
    session: AsyncSession, prepared: Prepared, page: int, per_page: int, **paging: Any
) -> Pagination[CommentRow]:
    rows = await paginate(session, prepared, page, per_page, **paging)
    return replace(rows, items=[_comment_row(row) for row in rows.items])


@functools.lru_cache(maxsize=8)
def _prepared_comments_of(criteria: tuple[ColumnElement[bool], ...], authors: bool) -> Prepared:
    """A post's comments, built once per shape (`criteria` as `_prepared_posts`'s `counted`)."""
    statement = (
        select(Comment)
        .where(Comment.post_id == _POST_ID, *criteria)
        .order_by(*oldest_first(Comment))
    )
    return prepare(statement, page_rows=_comment_rows(authors))


def _comment_row(row: Row[*tuple[Any, ...]]) -> CommentRow:
    # The columns of `_COMMENT_COLUMNS`, then the author's when they were joined.
    id, body, body_html, timestamp, disabled, author_id, post_id, *author = row
    return CommentRow(id, body, body_html, timestamp, disabled, author_id, post_id, _author(author))


async def comments_of(
    session: AsyncSession,
    post_id: int,
    page: int,
    per_page: int,
    *criteria: ColumnElement[bool],
    authors: bool = True,
    total: int | None = None,
) -> Pagination[CommentRow]:
    """A post's comments (those matching `criteria`), oldest first, as a conversation reads.

    `total`: how many there are, if known (`paginate`).
    """
    prepared = _prepared_comments_of(criteria, authors)
    return await _comment_page(
        session, prepared, page, per_page, total=total, params={"post_id": post_id}
    )


async def all_comments(
    session: AsyncSession,
    page: int,
    per_page: int,
    *criteria: ColumnElement[bool],
    authors: bool = True,
) -> Pagination[CommentRow]:
    """Every comment (matching `criteria`), newest first: the moderators' list."""
    statement = select(Comment).where(*criteria).order_by(*newest_first(Comment))
    prepared = prepare(statement, page_rows=_comment_rows(authors))
    return await _comment_page(session, prepared, page, per_page)


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
    # Counted without the join to `users`: one row per follow either way, and
    # PostgreSQL hashed all 100,000 users to count 8,073 followers (195 ms).
    follows = select(listed).where(anchor == user_id)
    return await paginate(session, statement, page, per_page, scalars=False, count_of=follows)


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


async def set_comment_disabled(session: AsyncSession, comment_id: int, disabled: bool) -> bool:
    """Hide (or show again) a comment's body; whether the comment exists. One statement."""
    result = await session.execute(
        update(Comment).where(Comment.id == comment_id).values(disabled=disabled)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_post(session: AsyncSession, post_id: int) -> bool:
    """Delete a post, for the page and the API alike; whether there was one.

    The one rule for what goes with it: the database's ON DELETE CASCADE on
    every foreign key to `posts.id` (comments today, and any table that
    references posts later). The schema declares it on both backends and
    SQLite enforces it because every connection sets `PRAGMA foreign_keys=ON`;
    deleting children by hand here would be a second rule that later tables
    could miss. One statement.
    """
    result = await session.execute(delete(Post).where(Post.id == post_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def roles(session: AsyncSession) -> list[Role]:
    return list((await session.scalars(select(Role).order_by(Role.name))).all())
