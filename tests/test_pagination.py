"""`paginate`: every page holds exactly the rows a plain LIMIT/OFFSET would, in the same order.

A page of one mapped entity is read through a subquery of its primary keys
(deep pages stay fast); these tests pin down that it changes no result.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TypeVarTuple

import pytest
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from service.models import Post, User, utcnow
from service.pagination import paginate

from .fixtures import MakeUser

PER_PAGE = 10
POSTS = 47


@pytest.fixture
async def posts(db: AsyncSession, make_user: MakeUser) -> list[Post]:
    """47 posts by two authors, newest first; groups of three share a timestamp (ties)."""
    authors = [await make_user("ann"), await make_user("bob")]
    now = utcnow()
    rows = [
        Post(
            body=f"post {n}",
            body_html=f"<p>post {n}</p>",
            author_id=authors[n % 2].id,
            timestamp=now - timedelta(seconds=n // 3),
        )
        for n in range(POSTS)
    ]
    db.add_all(rows)
    await db.commit()
    return sorted(rows, key=lambda post: (-post.timestamp.timestamp(), -post.id))


Columns = TypeVarTuple("Columns")


def newest_first(statement: Select[*Columns]) -> Select[*Columns]:
    return statement.order_by(Post.timestamp.desc(), Post.id.desc())


def ids(items: Iterable[Post]) -> list[int]:
    return [post.id for post in items]


@pytest.mark.parametrize("page", [1, 2, 3, 4, 5])
async def test_each_page_holds_the_next_rows_in_order(
    db: AsyncSession, posts: list[Post], page: int
) -> None:
    statement = newest_first(select(Post).options(joinedload(Post.author)))
    result = await paginate(db, statement, page, PER_PAGE)
    start = (page - 1) * PER_PAGE
    assert ids(result.items) == ids(posts[start : start + PER_PAGE])


async def test_rows_come_with_their_eager_loads(db: AsyncSession, posts: list[Post]) -> None:
    statement = newest_first(select(Post).options(joinedload(Post.author)))
    result = await paginate(db, statement, 3, PER_PAGE)
    assert {post.author.username for post in result.items} == {"ann", "bob"}


async def test_minus_one_is_the_last_page(db: AsyncSession, posts: list[Post]) -> None:
    result = await paginate(db, newest_first(select(Post)), -1, PER_PAGE)
    assert result.page == 5
    assert ids(result.items) == ids(posts[40:])


async def test_page_past_the_end_is_empty(db: AsyncSession, posts: list[Post]) -> None:
    result = await paginate(db, newest_first(select(Post)), 99, PER_PAGE)
    assert result.items == []
    assert result.total == POSTS


async def test_filtered_pages_keep_the_filter(db: AsyncSession, posts: list[Post]) -> None:
    bob = await db.scalar(select(User).where(User.username == "bob"))
    assert bob is not None
    statement = newest_first(select(Post).where(Post.author_id == bob.id))
    result = await paginate(db, statement, 2, PER_PAGE)
    by_bob = [post for post in posts if post.author_id == bob.id]
    assert ids(result.items) == ids(by_bob[PER_PAGE : 2 * PER_PAGE])
    assert result.total == len(by_bob)


async def test_rows_of_several_columns_are_paged_too(db: AsyncSession, posts: list[Post]) -> None:
    statement = newest_first(select(Post.id, User.username).join(User, Post.author_id == User.id))
    result = await paginate(db, statement, 2, PER_PAGE, scalars=False)
    assert [row.id for row in result.items] == ids(posts[PER_PAGE : 2 * PER_PAGE])
