"""Fake data (`service.fake`): what the app would have stored, skewed and in order."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from faker import Faker
from quart import Quart
from sqlalchemy import Connection, delete, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

import service.fake
from service.auth.forms import USERNAME_PATTERN
from service.db import write_transaction
from service.fake import LOCALES, FakeData, TextPool
from service.markdown import render_comment, render_post
from service.models import Comment, Follow, Post, User
from tests.fixtures import Client, Csrf, SignedIn, read_html

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
async def fake(app: Quart, db: AsyncSession) -> AsyncIterator[FakeData]:
    """English fake data written through the test database's session, in the app context."""
    async with app.app_context():
        yield FakeData(db, seed=7)


async def fill(data: FakeData, users: int, posts: int, comments: int) -> int:
    await data.users(users)
    await data.posts(posts)
    await data.comments(comments)
    return await data.follows()


@pytest.mark.parametrize("locale", LOCALES)
def test_fake_text_is_what_the_renderer_makes_of_it(locale: str) -> None:
    rng = random.Random(3)
    faker = Faker(locale)
    faker.seed_instance(3)
    pool = TextPool(faker, rng, size=500)
    for _ in range(300):
        body, html = pool.post()
        assert render_post(body) == html
        body, html = pool.comment()
        assert render_comment(body) == html
    paragraphs = [pool.post()[0].count("\n\n") + 1 for _ in range(100)]
    assert set(paragraphs) == {1, 2, 3}


async def test_fake_data_is_skewed_and_ordered_like_a_real_sites(
    fake: FakeData, db: AsyncSession
) -> None:
    follows = await fill(fake, users=300, posts=3000, comments=6000)

    assert follows == await db.scalar(select(func.count()).select_from(Follow)) == 3000
    assert await db.scalar(select(func.count()).select_from(Comment)) == 6000
    joined = dict((await db.execute(select(User.id, User.member_since))).all())
    usernames = (await db.scalars(select(User.username))).all()
    assert all(re.match(USERNAME_PATTERN, name) for name in usernames)
    assert len({name.lower() for name in usernames}) == 300

    posts = (await db.execute(select(Post.id, Post.timestamp, Post.author_id))).all()
    assert [p[0] for p in sorted(posts, key=lambda p: (p[1], p[0]))] == sorted(p[0] for p in posts)
    assert all(stamp >= joined[author] for _, stamp, author in posts)
    written = Counter(author for _, _, author in posts)
    assert written.most_common(1)[0][1] > 10 * 3000 / 300
    assert len(written) < 300, "some users write nothing"

    posted = {post_id: stamp for post_id, stamp, _ in posts}
    comments = (await db.execute(select(Comment.id, Comment.timestamp, Comment.post_id))).all()
    assert all(stamp >= posted[post_id] for _, stamp, post_id in comments)
    assert [c[0] for c in sorted(comments, key=lambda c: (c[1], c[0]))] == sorted(
        c[0] for c in comments
    )
    assert Counter(post_id for _, _, post_id in comments).most_common(1)[0][1] > 10 * 6000 / 3000

    pairs = (await db.execute(select(Follow.follower_id, Follow.followed_id))).all()
    assert all(follower != followed for follower, followed in pairs)
    following = Counter(follower for follower, _ in pairs)
    assert 0.15 * 300 < 300 - len(following) < 0.35 * 300, "about a quarter follow nobody"
    assert following.most_common(1)[0][1] > 5 * 10
    assert Counter(followed for _, followed in pairs).most_common(1)[0][1] > 5 * 10


async def test_fake_again_adds_to_what_is_there(fake: FakeData, db: AsyncSession) -> None:
    await fill(fake, users=20, posts=50, comments=50)
    await fill(fake, users=20, posts=50, comments=50)
    assert await db.scalar(select(func.count()).select_from(User)) == 40
    assert await db.scalar(select(func.count()).select_from(Post)) == 100
    pairs = (await db.execute(select(Follow.follower_id, Follow.followed_id))).all()
    assert len(pairs) == len(set(pairs)) > 0


async def test_fake_users_never_take_a_deleted_accounts_id(
    fake: FakeData, db: AsyncSession
) -> None:
    """A deleted account's login cookie names its id: no later account may have it."""
    await fake.users(3)
    newest = await db.scalar(select(func.max(User.id)))
    async with write_transaction(db):
        await db.execute(delete(User).where(User.id == newest))
    await fake.users(2)
    ids = (await db.scalars(select(User.id).order_by(User.id))).all()
    assert newest not in ids and len(ids) == 4 and min(ids[2:]) > (newest or 0)


async def test_the_app_writes_as_usual_after_fake_data(
    fake: FakeData, db: AsyncSession, client: Client, signed_in: SignedIn, csrf: Csrf
) -> None:
    """Fake rows carry their ids; the database's own numbering must still go on after them."""
    await fill(fake, users=10, posts=30, comments=30)
    last_fake = await db.scalar(select(func.max(Post.id)))
    author = await db.scalar(select(User).order_by(User.id))
    assert author is not None
    async with signed_in(client, author):
        token = await csrf(client, "/")
        posted = await client.post("/", form={"body": "After the *fake* ones", "csrf_token": token})
        assert posted.status_code == 302
        await db.commit()  # a new snapshot, which sees the app's post
        newest = await db.scalar(select(func.max(Post.id)))
        commented = await client.post(
            f"/post/{newest}", form={"body": "A real comment", "csrf_token": token}
        )
        assert commented.status_code == 302
        page = await read_html(await client.get(f"/post/{newest}"))
    assert "<em>fake</em>" in page and "A real comment" in page
    assert newest == (last_fake or 0) + 1


async def test_chinese_fake_data_keeps_usernames_latin(app: Quart, db: AsyncSession) -> None:
    async with app.app_context():
        await fill(FakeData(db, seed=5, locale="zh_CN"), users=30, posts=60, comments=60)
    users = (await db.scalars(select(User))).all()
    assert all(re.match(USERNAME_PATTERN, user.username) for user in users)
    assert all(CJK.search(user.name or "") and CJK.search(user.location or "") for user in users)
    bodies = [*(await db.scalars(select(Post.body))), *(await db.scalars(select(Comment.body)))]
    assert all(CJK.search(body) and not re.search("[A-Za-z]", body) for body in bodies)


async def _index_names(db: AsyncSession) -> set[str]:
    connection = await db.connection()

    def names(sync: Connection) -> set[str]:
        inspector = inspect(sync)
        return {
            str(index["name"])
            for table in ("posts", "comments", "follows")
            for index in inspector.get_indexes(table)
        }

    found = await connection.run_sync(names)
    await db.commit()
    return found


async def test_a_bulk_load_builds_the_indexes_again_after_it(
    fake: FakeData, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service.fake, "BULK_LOAD", 10)
    before = await _index_names(db)
    assert "ix_posts_timestamp_id" in before
    postgres = db.get_bind().dialect.name == "postgresql"
    told: list[int] = []
    await fake.users(20)
    with pytest.raises(RuntimeError, match="stopped"):
        async with fake.bulk_load(10, told.append):
            await fake.posts(10)
            during = await _index_names(db)
            raise RuntimeError("stopped")
    # PostgreSQL loads without the secondary indexes; SQLite keeps them (and its triggers).
    assert during == (set() if postgres else before)
    assert told == ([len(before)] if postgres else [])
    # Built again even though the load failed; the batches written stay.
    assert await _index_names(db) == before
    assert await db.scalar(select(func.count()).select_from(Post)) == 10
