"""`paginate`: every page holds exactly the rows a plain LIMIT/OFFSET would, in the same order.

A page of one mapped entity is read through a subquery of its primary keys
(deep pages stay fast); these tests pin down that it changes no result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import TypeVarTuple

import pytest
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from service import pagination
from service.models import Post, User, utcnow
from service.pagination import paginate

from .blog import add_post, add_posts
from .fixtures import Client, CountStatements, MakeUser, read_html

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


# Bounded counting: lists longer than EXACT_COUNT are counted only a few pages ahead.
EXACT = 12  # rows counted exactly in these tests (47 posts: 4 pages of 10 beyond it)


@pytest.fixture
def short_exact_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagination, "EXACT_COUNT", EXACT)


@pytest.mark.usefixtures("short_exact_count")
@pytest.mark.parametrize("page", [1, 2, 3, 4, 5])
async def test_a_bounded_count_changes_no_page(
    db: AsyncSession, posts: list[Post], page: int
) -> None:
    result = await paginate(db, newest_first(select(Post)), page, PER_PAGE)
    start = (page - 1) * PER_PAGE
    assert ids(result.items) == ids(posts[start : start + PER_PAGE])
    assert result.has_next == (start + PER_PAGE < POSTS)


@pytest.mark.usefixtures("short_exact_count")
async def test_a_long_list_is_counted_a_few_pages_ahead(
    db: AsyncSession, posts: list[Post]
) -> None:
    result = await paginate(db, newest_first(select(Post)), 1, PER_PAGE)
    # Counted up to one row past AHEAD pages after page 1: page 5 is known to exist.
    assert not result.exact
    assert result.total == (1 + pagination.AHEAD) * PER_PAGE + 1
    assert result.pages == 5
    # Every page linked holds rows, and a gap says the list goes on.
    assert list(result.iter_pages()) == [1, 2, 3, 4, 5, None]


@pytest.mark.usefixtures("short_exact_count")
async def test_near_the_end_the_count_is_exact_again(db: AsyncSession, posts: list[Post]) -> None:
    result = await paginate(db, newest_first(select(Post)), 3, PER_PAGE)
    assert result.exact
    assert result.total == POSTS
    assert list(result.iter_pages()) == [1, 2, 3, 4, 5]


@pytest.mark.usefixtures("short_exact_count")
async def test_the_last_page_of_a_long_list_is_counted_in_full(
    db: AsyncSession, posts: list[Post]
) -> None:
    result = await paginate(db, newest_first(select(Post)), -1, PER_PAGE)
    assert (result.page, result.total, result.exact) == (5, POSTS, True)
    assert ids(result.items) == ids(posts[40:])


@pytest.mark.usefixtures("short_exact_count")
async def test_past_the_end_of_a_long_list_is_empty(db: AsyncSession, posts: list[Post]) -> None:
    result = await paginate(db, newest_first(select(Post)), 99, PER_PAGE)
    assert result.items == []
    assert (result.total, result.exact) == (POSTS, True)


@pytest.mark.usefixtures("short_exact_count")
async def test_the_links_of_a_long_list_lead_through_every_post_once(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    """Following "next" from page 1 shows every post once, even with one posted meanwhile.

    120 posts, 20 a page: page 1 counts 81 rows (not all), so it knows of
    pages 1 to 5 and shows a gap after them.
    """
    author = await make_user("writer")
    written = await add_posts(db, author, 120)
    seen: list[str] = []
    path: str | None = "/"
    pages = 0
    while path is not None:
        html = await read_html(await client.get(path))
        if pages == 0:
            assert re.findall(r'href="/\?page=(\d+)">', html) == ["1", "2", "3", "4", "5"]
            assert "&hellip;" in html
        seen += re.findall(r"<p>(post \d+|late post)</p>", html)
        for linked in set(re.findall(r'href="/\?page=(\d+)"', html)):
            # A page the widget links to is never empty.
            assert 'class="post-body"' in await read_html(await client.get(f"/?page={linked}"))
        if pages == 1:
            # A new post pushes every row one place down, as with OFFSET paging:
            # the next page repeats the last row seen, and skips none.
            await add_post(db, author, "late post")
        found = re.search(r'href="/\?page=(\d+)" aria-label="Next"', html)
        path = f"/?page={found.group(1)}" if found else None
        pages += 1
    expected = [post.body for post in written]
    assert seen[:40] == expected[:40]
    assert seen[40:] == [expected[39], *expected[40:]]
    assert pages == 7


async def _no_count(*_args: object) -> int:
    raise AssertionError("counted")


async def test_a_first_page_read_first_that_is_not_full_is_the_whole_list(
    db: AsyncSession, posts: list[Post], monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = ("post 1", "post 2", "post 30")
    statement = newest_first(select(Post).where(Post.body.in_(bodies)))
    monkeypatch.setattr(pagination, "count", _no_count)
    result = await paginate(db, statement, 1, PER_PAGE, rows_first=True)
    assert ids(result.items) == ids(post for post in posts if post.body in bodies)
    assert (result.total, result.exact, result.pages, result.has_next) == (3, True, 1, False)


@pytest.mark.parametrize("page", [1, 2, 5, -1])
async def test_reading_the_rows_first_changes_no_page(
    db: AsyncSession, posts: list[Post], page: int
) -> None:
    statement = newest_first(select(Post))
    counted_first = await paginate(db, statement, page, PER_PAGE)
    rows_first = await paginate(db, statement, page, PER_PAGE, rows_first=True)
    assert ids(rows_first.items) == ids(counted_first.items)
    assert (rows_first.page, rows_first.total, rows_first.exact) == (
        counted_first.page,
        counted_first.total,
        counted_first.exact,
    )


def counts(statements: list[str]) -> int:
    return sum("count(*)" in statement for statement in statements)


@pytest.mark.usefixtures("short_exact_count")
async def test_a_bound_reached_is_remembered_for_the_list_named(
    db: AsyncSession, posts: list[Post], count_statements: CountStatements
) -> None:
    statement = newest_first(select(Post))
    with count_statements() as first:
        await paginate(db, statement, 1, PER_PAGE, count_key="all posts")
    assert counts(first) == 1
    for _ in range(2):
        with count_statements() as again:
            result = await paginate(db, statement, 1, PER_PAGE, count_key="all posts")
        assert counts(again) == 0 and len(again) == 1
        assert ids(result.items) == ids(posts[:PER_PAGE])
        assert (result.total, result.exact) == ((1 + pagination.AHEAD) * PER_PAGE + 1, False)
    # A list without the key, a further bound (page 2: 51 rows) and the last page are counted.
    for page, key in ((1, None), (2, "all posts"), (-1, "all posts")):
        with count_statements() as counted:
            await paginate(db, statement, page, PER_PAGE, count_key=key)
        assert counts(counted) == 1, (page, key)


async def test_an_exact_count_is_never_remembered(
    db: AsyncSession, posts: list[Post], count_statements: CountStatements
) -> None:
    statement = newest_first(select(Post))
    for _ in range(2):
        with count_statements() as statements:
            result = await paginate(db, statement, 1, PER_PAGE, count_key="all posts")
        assert result.exact and counts(statements) == 1


@pytest.mark.usefixtures("short_exact_count")
async def test_a_remembered_bound_expires(
    db: AsyncSession,
    posts: list[Post],
    count_statements: CountStatements,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    statement = newest_first(select(Post))
    await paginate(db, statement, 1, PER_PAGE, count_key="all posts")
    monkeypatch.setattr(pagination, "LOWER_BOUNDS_KEPT", 0.0)
    with count_statements() as statements:
        await paginate(db, statement, 1, PER_PAGE, count_key="all posts")
    assert counts(statements) == 1
