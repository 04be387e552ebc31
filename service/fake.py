"""Fake data for development and benchmarks: users, posts, comments and follows.

As Flasky's `app/fake.py`, but written for volume: 100,000 users, a million
posts, two million comments and a million follows go into PostgreSQL in a few
minutes. Three things make that possible:

- **Bulk writes.** On PostgreSQL every batch is one `COPY` (asyncpg's
  `copy_records_to_table`); elsewhere one `executemany` per batch, each batch
  in its own `write_transaction`. Rows carry their ids, so comments and follows
  need no round trip to learn them; PostgreSQL's sequences are moved past them
  afterwards, so the application inserts as usual.
- **Text from a pool.** Faker writes a few thousand sentences once; posts and
  comments are made of them. Each sentence in the pool has only letters,
  spaces, dots and commas, so no Markdown or HTML construct can arise when
  sentences are joined: a post's HTML is its paragraphs in `<p>` elements and a
  comment's is its text, exactly what `service.markdown` renders for them
  (tests/test_fake.py checks that through the real renderer).
- **Indexes after rows.** On PostgreSQL, a large load drops the secondary
  indexes of `posts`, `comments` and `follows` (those no constraint needs)
  first and builds them again afterwards, with a larger
  `maintenance_work_mem`: keeping the trigram index of `posts.body` up to
  date row by row made a million posts take 20 minutes, building it once
  takes a few.
- **Plans before rows.** Who writes, comments and follows, and when, is drawn
  first as plain numbers; rows are then made a batch at a time.

The data is skewed as a real site's is: a few users write thousands of posts
and most write a handful, a few posts draw thousands of comments, some users
follow hundreds of people and a quarter follow nobody. Timestamps spread over
the past years and respect causality (a post after its author joined, a
comment after its post), and ids ascend with timestamps, so the `(timestamp,
id)` list order and the id order agree. Every fake user's password is
"password". The `flasky fake` command drives it and draws the progress bars.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from faker import Faker
from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from .auth.forms import USERNAME_PATTERN
from .db import write_transaction
from .models import Comment, Follow, Post, Role, User, utcnow
from .passwords import hash_password

BATCH = 10_000
PASSWORD = "password"  # noqa: S105 (documented: every fake user can log in with it)
LOCALES = ("en_US", "zh_CN")
# How far back the site's history goes: users joined over these years.
HISTORY_SECONDS = 4 * 365 * 86400
# Sentences in the text pool, and how many words each may have.
POOL_SENTENCES = 5000
# Of the users, those who follow nobody; the others follow a heavy-tailed number.
NON_FOLLOWERS = 0.25
MAX_FOLLOWS = 2000
FOLLOWS_PER_USER = 10
# A load of at least this many posts drops the secondary indexes and builds them after.
BULK_LOAD = 100_000
# The tables whose secondary indexes a bulk load rebuilds, and the memory each build may use.
BULK_TABLES = ("posts", "comments", "follows")
INDEX_BUILD_MEMORY = "512MB"
# Secondary indexes: those no constraint (primary key, unique, ...) owns.
_SECONDARY_INDEXES = text(
    """SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables)
AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                WHERE c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)
ORDER BY i.indexname"""
)

Advance = Callable[[int], None]
Row = tuple[Any, ...]
_USERNAME = re.compile(USERNAME_PATTERN)


def _ignore(_count: int) -> None:
    """The default progress callback: nobody is watching."""


def _plain(sentence: str) -> bool:
    """Whether `sentence` is letters, spaces, dots and commas only, starting with a letter."""
    return (
        bool(sentence)
        and sentence[0].isalpha()
        and all(char.isalpha() or char in " .," for char in sentence)
    )


class TextPool:
    """Sentences in one language, and posts and comments made of them with their HTML."""

    def __init__(self, faker: Faker, rng: random.Random, size: int = POOL_SENTENCES) -> None:
        self.rng = rng
        lorem = next(p for p in faker.factories[0].providers if hasattr(p, "word_connector"))
        # Chinese joins words and sentences with nothing, English with a space.
        self.connector: str = lorem.word_connector
        sentences = (faker.sentence(nb_words=rng.randint(4, 14)) for _ in itertools.count())
        self.sentences = list(itertools.islice(filter(_plain, sentences), size))

    def paragraph(self) -> str:
        return self.connector.join(self.rng.choices(self.sentences, k=self.rng.randint(2, 6)))

    def post(self) -> tuple[str, str]:
        """A post's Markdown body (1 to 3 paragraphs) and the HTML it renders to."""
        paragraphs = [self.paragraph() for _ in range(self.rng.randint(1, 3))]
        return "\n\n".join(paragraphs), "\n".join(f"<p>{p}</p>" for p in paragraphs)

    def comment(self) -> tuple[str, str]:
        """A comment's body (one or two sentences) and its HTML: the same text."""
        body = self.connector.join(self.rng.choices(self.sentences, k=self.rng.randint(1, 2)))
        return body, body


class Popularity:
    """A Zipf-like draw over items in random order: a few are chosen very often, most rarely."""

    def __init__(
        self, rng: random.Random, items: Sequence[int], exponent: float, offset: float
    ) -> None:
        self.rng = rng
        self.items = list(items)
        ranks = list(range(len(self.items)))
        rng.shuffle(ranks)
        self.cumulative = list(itertools.accumulate((r + offset) ** -exponent for r in ranks))

    def draw(self, count: int) -> list[int]:
        return self.rng.choices(self.items, cum_weights=self.cumulative, k=count)

    def distinct(self, count: int, exclude: int) -> set[int]:
        """`count` different items other than `exclude`, one of the items (at most all others)."""
        count = min(count, len(self.items) - 1)
        chosen: set[int] = set()
        # Popular items repeat, so drawing by weight can take many rounds for a
        # large share of the items: then a uniform sample does.
        if count > len(self.items) // 4:
            chosen.update(self.rng.sample(self.items, min(count + 1, len(self.items))))
            chosen.discard(exclude)
            return set(itertools.islice(chosen, count))
        while len(chosen) < count:
            chosen.update(self.draw(count - len(chosen)))
            chosen.discard(exclude)
        return chosen


class FakeData:
    """Generates fake rows into one session; `seed` makes the data repeatable."""

    def __init__(
        self, session: AsyncSession, seed: int | None = None, locale: str = "en_US"
    ) -> None:
        self.session = session
        self.faker = Faker(locale)
        # Usernames and addresses stay Latin whatever the locale: the username
        # rule allows ASCII letters, digits, dots and underscores only.
        self.latin = Faker("en_US")
        if seed is not None:
            self.faker.seed_instance(seed)
            self.latin.seed_instance(seed)
        self.rng = random.Random(seed)
        self.now = utcnow().timestamp()
        self._text: TextPool | None = None

    @property
    def text(self) -> TextPool:
        if self._text is None:
            self._text = TextPool(self.faker, self.rng)
        return self._text

    async def users(self, count: int, advance: Advance = _ignore) -> int:
        """Create `count` confirmed users with the default role; returns how many."""
        async with write_transaction(self.session):
            await Role.insert_roles(self.session)
        role_id = await self.session.scalar(select(Role.id).where(Role.default.is_(True)))
        # One hash for all: Argon2 costs a quarter second, and every fake
        # user has the same password anyway.
        password_hash = await hash_password(PASSWORD)
        # Numbering after the highest id keeps addresses and names unique
        # when the command runs again on the same database.
        first = await self._last_id(User)
        # Pools: Faker's names cost far more than the rest of a row.
        pool = max(1, min(count, 5000))
        handles = [self._handle() for _ in range(pool)]
        names = [self.faker.name() for _ in range(pool)]
        cities = [self.faker.city() for _ in range(pool)]
        domains = [self.latin.free_email_domain() for _ in range(20)]
        # More people joined recently than long ago; ids follow joining order.
        joined = sorted(self.now - HISTORY_SECONDS * self.rng.random() ** 2 for _ in range(count))

        def rows() -> Iterator[Row]:
            for n, since in enumerate(joined):
                number = first + n + 1
                handle = self.rng.choice(handles)
                email = f"{handle}.{number}@{self.rng.choice(domains)}".lower()
                yield (
                    number,
                    email,
                    f"{handle}{number}",
                    password_hash,
                    True,
                    self.rng.choice(names),
                    self.rng.choice(cities),
                    self.text.paragraph(),
                    _time(since),
                    _time(since + (self.now - since) * self.rng.random()),
                    User.email_hash(email),
                    role_id,
                    0,
                )

        columns = (
            "id", "email", "username", "password_hash", "confirmed", "name", "location",
            "about_me", "member_since", "last_seen", "avatar_hash", "role_id",
            "session_generation",
        )  # fmt: skip
        await self._write(_table(User), columns, rows(), advance)
        return count

    async def posts(self, count: int, advance: Advance = _ignore) -> int:
        """Create `count` posts, most by a few prolific users; refuses when there are no users."""
        joined = await self._joined()
        if not joined and count:
            raise LookupError("No users to write posts: use --users.")
        writers = Popularity(self.rng, list(joined), exponent=1.0, offset=5)
        authors = writers.draw(count)
        stamps = [joined[a] + (self.now - joined[a]) * self.rng.random() for a in authors]
        order = sorted(range(count), key=stamps.__getitem__)
        first = await self._last_id(Post)

        def rows() -> Iterator[Row]:
            for n, index in enumerate(order):
                body, html = self.text.post()
                yield first + n + 1, body, html, _time(stamps[index]), authors[index]

        columns = ("id", "body", "body_html", "timestamp", "author_id")
        await self._write(_table(Post), columns, rows(), advance)
        return count

    async def comments(self, count: int, advance: Advance = _ignore) -> int:
        """Create `count` comments, crowding on a few posts; 0 without users or posts."""
        joined = await self._joined()
        posted = dict((await self.session.execute(select(Post.id, Post.timestamp))).all())
        if not joined or not posted:
            return 0
        post_ids = list(posted)
        stamps_of_posts = [posted[i].timestamp() for i in post_ids]
        # Half of the comments go to posts by popularity, so a few posts draw
        # thousands; the other half spread evenly.
        popular = Popularity(self.rng, range(len(post_ids)), exponent=1.0, offset=50)
        targets = popular.draw(count // 2) + self.rng.choices(
            range(len(post_ids)), k=count - count // 2
        )
        authors = Popularity(self.rng, list(joined), exponent=1.0, offset=5).draw(count)
        stamps = []
        for target, author in zip(targets, authors, strict=True):
            start = max(stamps_of_posts[target], joined[author])
            # Most comments come soon after the post.
            stamps.append(start + (self.now - start) * self.rng.random() ** 3)
        order = sorted(range(count), key=stamps.__getitem__)
        first = await self._last_id(Comment)

        def rows() -> Iterator[Row]:
            for n, index in enumerate(order):
                body, html = self.text.comment()
                yield (
                    first + n + 1,
                    body,
                    html,
                    _time(stamps[index]),
                    False,
                    authors[index],
                    post_ids[targets[index]],
                )

        columns = ("id", "body", "body_html", "timestamp", "disabled", "author_id", "post_id")
        await self._write(_table(Comment), columns, rows(), advance)
        return count

    async def follows(self, per_user: int | None = None, advance: Advance = _ignore) -> int:
        """Let users follow others: `per_user` each, or by default a heavy-tailed number.

        The default gives `FOLLOWS_PER_USER` follows per user on average: a
        quarter follow nobody, a few follow hundreds. The followed are drawn
        by popularity, so a few users have tens of thousands of followers.
        `advance` counts followers done. Returns how many follows were made.
        """
        joined = await self._joined()
        user_ids = list(joined)
        pairs = await self.session.execute(select(Follow.follower_id, Follow.followed_id))
        existing = {(follower, followed) for follower, followed in pairs}
        degrees = (
            [per_user] * len(user_ids) if per_user is not None else self._degrees(len(user_ids))
        )
        popular = Popularity(self.rng, user_ids, exponent=1.0, offset=10)

        def rows() -> Iterator[Row]:
            for follower, degree in zip(user_ids, degrees, strict=True):
                for followed in sorted(popular.distinct(degree, exclude=follower)):
                    if (follower, followed) not in existing:
                        start = max(joined[follower], joined[followed])
                        yield (
                            follower,
                            followed,
                            _time(start + (self.now - start) * self.rng.random()),
                        )
                advance(1)

        made = 0

        def counted(source: Iterable[Row]) -> Iterator[Row]:
            nonlocal made
            for row in source:
                made += 1
                yield row

        columns = ("follower_id", "followed_id", "timestamp")
        await self._write(_table(Follow), columns, counted(rows()), _ignore)
        return made

    @asynccontextmanager
    async def bulk_load(self, posts: int, building: Advance = _ignore) -> AsyncIterator[None]:
        """Load with the secondary indexes dropped, on PostgreSQL, when `posts` is large.

        The indexes are built again when the block ends, also after an error,
        one by one in their own transactions with `INDEX_BUILD_MEMORY`;
        `building` is told how many before they are. Elsewhere, and for small loads
        (where keeping indexes costs little), the block runs as it is.
        """
        if not self._postgres or posts < BULK_LOAD:
            yield
            return
        async with write_transaction(self.session):
            found = await self.session.execute(_SECONDARY_INDEXES, {"tables": list(BULK_TABLES)})
            indexes = found.all()
            for name, _definition in indexes:
                await self.session.execute(text(f'DROP INDEX "{name}"'))
        try:
            yield
        finally:
            building(len(indexes))
            for _name, definition in indexes:
                async with write_transaction(self.session):
                    await self.session.execute(
                        text(f"SET LOCAL maintenance_work_mem TO '{INDEX_BUILD_MEMORY}'")
                    )
                    await self.session.execute(text(definition))

    def _degrees(self, users: int) -> list[int]:
        """How many users each follows: none for a quarter, Pareto-tailed for the rest."""
        if users < 2:
            return [0] * users
        cap = min(MAX_FOLLOWS, users - 1)
        active = [self.rng.random() >= NON_FOLLOWERS for _ in range(users)]
        raw = [self.rng.paretovariate(1.2) if on else 0.0 for on in active]
        target = min(FOLLOWS_PER_USER * users, cap * sum(active))
        scale = target / (sum(raw) or 1)
        degrees = [min(cap, max(1, round(x * scale))) if x else 0 for x in raw]
        # Rounding and the cap miss the target a little: the difference goes
        # one follow at a time to (or from) random followers.
        followers = [n for n, on in enumerate(active) if on]
        difference = target - sum(degrees)
        while difference and followers:
            n = self.rng.choice(followers)
            step = 1 if difference > 0 else -1
            if 1 <= degrees[n] + step <= cap:
                degrees[n] += step
                difference -= step
        return degrees

    def _handle(self) -> str:
        """A Latin user name that fits the username rule once a number is appended."""
        handle = self.latin.user_name()[:48]
        return handle if _USERNAME.match(handle) else "user"

    async def _joined(self) -> dict[int, float]:
        """Every user's id and when they joined (POSIX seconds)."""
        rows = await self.session.execute(select(User.id, User.member_since))
        return {user_id: since.timestamp() for user_id, since in rows}

    async def _last_id(self, model: type[User] | type[Post] | type[Comment]) -> int:
        """The highest id `model`'s table ever handed out: fake rows are numbered after it.

        Not simply the highest id present: users' ids are never reused (a
        deleted account's login cookie names its id), so the database's own
        counter counts too: PostgreSQL's sequence (reading it hands out a
        number, which the first fake row then takes), SQLite's
        `sqlite_sequence` for AUTOINCREMENT tables.
        """
        table = _table(model)
        highest = (await self.session.scalar(select(func.max(table.c.id)))) or 0
        if self._postgres:
            sequence = func.pg_get_serial_sequence(table.name, "id")
            spent = await self.session.scalar(select(func.nextval(sequence)))
            return max(highest, int(spent or 1) - 1)
        if table.dialect_kwargs.get("sqlite_autoincrement"):
            counter = text("SELECT seq FROM sqlite_sequence WHERE name = :name")
            return max(highest, (await self.session.scalar(counter, {"name": table.name})) or 0)
        return highest

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def _write(
        self, table: Table, columns: Sequence[str], rows: Iterable[Row], advance: Advance
    ) -> None:
        """Write `rows` a batch at a time, each batch in its own write transaction.

        Rows are made before each transaction, so the write lock is held only
        for the writing itself. On PostgreSQL the table's id sequence is
        moved past the ids written, so later inserts get fresh ids.
        """
        postgres = self._postgres
        iterator = iter(rows)
        while batch := list(itertools.islice(iterator, BATCH)):
            async with write_transaction(self.session):
                if postgres:
                    await self._copy(table, columns, batch)
                else:
                    statement = table.insert()
                    await self.session.execute(
                        statement, [dict(zip(columns, r, strict=True)) for r in batch]
                    )
            advance(len(batch))
        if postgres and "id" in columns:
            async with write_transaction(self.session):
                sequence = func.pg_get_serial_sequence(table.name, "id")
                highest = select(func.max(table.c.id)).scalar_subquery()
                await self.session.execute(select(func.setval(sequence, highest)))

    async def _copy(self, table: Table, columns: Sequence[str], batch: list[Row]) -> None:
        """One COPY of `batch` into `table`, inside the session's transaction."""
        # The statement also starts the transaction on the driver's connection
        # (asyncpg begins it at the first statement), so the COPY is part of
        # it. Unsynchronised commit: a crash may lose the last batches, never
        # leave them half written.
        await self.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        connection = await self.session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None, "an open connection has its driver's connection"
        await driver.copy_records_to_table(table.name, records=batch, columns=list(columns))


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
