"""Fake data for development and benchmarks: users, posts, comments and follows.

As Flasky's `app/fake.py`, but written for volume: rows are inserted a
thousand at a time, bypassing the ORM's per-object bookkeeping, so filling a
database with a few thousand posts takes seconds. Every fake user's password
is "password". The `flasky fake` command drives it and draws the progress bars.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from faker import Faker
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from .db import write_transaction
from .markdown import render_comment, render_post
from .models import Comment, Follow, Post, Role, User, utcnow
from .passwords import hash_password

BATCH = 1000
PASSWORD = "password"  # noqa: S105 (documented: every fake user can log in with it)
_YEAR = 365 * 86400

Advance = Callable[[int], None]


def _ignore(_count: int) -> None:
    """The default progress callback: nobody is watching."""


class FakeData:
    """Generates fake rows into one session; `seed` makes the data repeatable."""

    def __init__(self, session: AsyncSession, seed: int | None = None) -> None:
        self.session = session
        self.faker = Faker()
        if seed is not None:
            self.faker.seed_instance(seed)
        self.rng = random.Random(seed)
        self.now = utcnow()

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
        first = (await self.session.scalar(select(func.max(User.id)))) or 0

        def row(n: int) -> dict[str, Any]:
            number = first + n + 1
            email = f"{self.faker.user_name()}.{number}@{self.faker.free_email_domain()}".lower()
            since = self.now - timedelta(days=self.rng.uniform(30, 720))
            return {
                "email": email,
                "username": f"{self.faker.user_name()}{number}"[:64],
                "password_hash": password_hash,
                "confirmed": True,
                "name": self.faker.name(),
                "location": self.faker.city(),
                "about_me": self.faker.sentence(),
                "member_since": since,
                "last_seen": since + (self.now - since) * self.rng.random(),
                "avatar_hash": User.email_hash(email),
                "role_id": role_id,
                "session_generation": 0,
            }

        await self._insert(User, count, row, advance)
        return count

    async def posts(self, count: int, advance: Advance = _ignore) -> int:
        """Create `count` posts by random users; refuses when there are no users."""
        user_ids = await self._ids(User)
        if not user_ids and count:
            raise LookupError("No users to write posts: use --users.")

        def row(_n: int) -> dict[str, Any]:
            body = "\n\n".join(self.faker.paragraphs(nb=self.rng.randint(1, 3)))
            return {
                "body": body,
                "body_html": render_post(body),
                "timestamp": self._past(_YEAR),
                "author_id": self.rng.choice(user_ids),
            }

        await self._insert(Post, count, row, advance)
        return count

    async def comments(self, count: int, advance: Advance = _ignore) -> int:
        """Create `count` comments by random users on random posts; 0 without posts."""
        user_ids = await self._ids(User)
        post_ids = await self._ids(Post)
        if not user_ids or not post_ids:
            return 0

        def row(_n: int) -> dict[str, Any]:
            body = self.faker.sentence(nb_words=self.rng.randint(4, 20))
            return {
                "body": body,
                "body_html": render_comment(body),
                "timestamp": self._past(_YEAR),
                "disabled": False,
                "author_id": self.rng.choice(user_ids),
                "post_id": self.rng.choice(post_ids),
            }

        await self._insert(Comment, count, row, advance)
        return count

    async def follows(self, per_user: int | None = None) -> int:
        """Let every user follow `per_user` others (default: 0 to 10); returns how many."""
        user_ids = await self._ids(User)
        pairs = await self.session.execute(select(Follow.follower_id, Follow.followed_id))
        existing = {(follower, followed) for follower, followed in pairs}
        rows = []
        for follower in user_ids:
            count = per_user if per_user is not None else self.rng.randint(0, 10)
            for followed in self.rng.sample(user_ids, min(count, len(user_ids))):
                if followed != follower and (follower, followed) not in existing:
                    existing.add((follower, followed))
                    rows.append(
                        {
                            "follower_id": follower,
                            "followed_id": followed,
                            "timestamp": self._past(30 * 86400),
                        }
                    )
        for start in range(0, len(rows), BATCH):
            async with write_transaction(self.session):
                await self.session.execute(insert(Follow), rows[start : start + BATCH])
        return len(rows)

    def _past(self, seconds: float) -> datetime:
        return self.now - timedelta(seconds=self.rng.uniform(0, seconds))

    async def _ids(self, model: type[User] | type[Post]) -> list[int]:
        return list((await self.session.scalars(select(model.id))).all())

    async def _insert(
        self,
        model: type[Any],
        count: int,
        make_row: Callable[[int], dict[str, Any]],
        advance: Advance,
    ) -> None:
        """Insert `count` rows a batch at a time, committing and reporting each batch.

        Rows, Markdown included, are made before each write transaction, so
        the write lock is held only for the INSERT itself.
        """
        for start in range(0, count, BATCH):
            batch = [make_row(n) for n in range(start, min(start + BATCH, count))]
            async with write_transaction(self.session):
                await self.session.execute(insert(model), batch)
            advance(len(batch))
